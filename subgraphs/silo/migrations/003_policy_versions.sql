-- Every signed rule file this nation's subgraph accepted (its own and the coalition's), kept as
-- signed: the history an officer reads, and what the subgraph puts back in force on restart after
-- verifying each signature again. A version is accepted once; re-publishing an old one makes a new,
-- higher version.
CREATE TABLE policy_version (
  nation       text NOT NULL,
  version      integer NOT NULL CHECK (version > 0),
  signed_by    text NOT NULL,
  signed_at    timestamptz NOT NULL,
  accepted_at  timestamptz NOT NULL,
  kid          text NOT NULL,
  jws          text NOT NULL,
  PRIMARY KEY (nation, version)
);

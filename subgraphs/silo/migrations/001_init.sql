-- A nation's silo: every STIX object it holds, with its marking split into comparable columns so
-- that visibility can be decided in SQL, and every reference it makes, one row each.
CREATE TABLE stix_object (
  id             text COLLATE "C" PRIMARY KEY,   -- global id: FRA:indicator--<uuid>
  stix_id        text COLLATE "C" NOT NULL UNIQUE,
  type           text NOT NULL,                   -- STIX type: indicator, sighting, incident, …
  nation         text NOT NULL,                   -- owner, ISO 3166 alpha-3
  created        timestamptz NOT NULL,
  modified       timestamptz NOT NULL,
  sort_time      timestamptz NOT NULL,            -- the list order: validFrom, lastSeen, firstSeen or created
  classification smallint NOT NULL,               -- rank in policies' CLASSIFICATIONS
  tlp            smallint NOT NULL,               -- rank in policies' TLP_LEVELS
  releasable_to  text[] NOT NULL,
  caveats        text[] NOT NULL,
  granular       jsonb NOT NULL DEFAULT '[]'::jsonb, -- [{ selectors, marking }] from STIX granular_markings
  technique_ids  text[] NOT NULL DEFAULT '{}',    -- ATT&CK ids this object indicates or uses
  doc            jsonb NOT NULL                   -- the STIX object as imported, for export
);
CREATE INDEX stix_object_list ON stix_object (type, sort_time DESC, id DESC);
CREATE INDEX stix_object_techniques ON stix_object USING gin (technique_ids);

-- References between objects, from STIX relationships and from embedded *_ref(s) properties.
-- target_id is global: the target may be held by another nation.
CREATE TABLE stix_link (
  source_id  text COLLATE "C" NOT NULL,
  kind       text NOT NULL,                       -- relationship_type, or sighting-of / where-sighted / created-by
  target_id  text COLLATE "C" NOT NULL,
  via        text COLLATE "C",                    -- the relationship object's global id, if any
  PRIMARY KEY (source_id, kind, target_id)
);
CREATE INDEX stix_link_target ON stix_link (target_id, kind);

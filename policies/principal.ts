import type { Classification } from './markings';

/** Who is asking: established from a verified token, never from the caller's say-so alone. */
export interface Principal {
  /** The subject at the national identity provider. */
  subject: string;
  /** ISO 3166 alpha-3 of the nation whose identity provider vouched for the subject. */
  nation: string;
  clearance: Classification;
  roles: string[];
  /** Communities claimed by the token AND confirmed by the coalition's configuration for `nation`. */
  communities: string[];
}

/** A nation's silo: open it (migrations run on open), then read it through a caller's scope. */
export { openSilo, SiloUnavailableError, type OpenSiloOptions, type SiloDb, type SiloQueryable } from './db';
export {
  createSiloReader,
  decodeCursor,
  EVERYTHING_VISIBLE,
  type Bind,
  type FieldReleased,
  type LinkedObject,
  type ObjectRow,
  type Page,
  type PageCursor,
  type PageRequest,
  type PageRow,
  type ReadScope,
  type SiloReader,
  type StixDoc,
  type StixLink,
  type Visibility,
} from './queries';
export { conditionSql, type PropertyOf } from './condition-sql';

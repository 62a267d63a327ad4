/** Where the tests find the real, public data they read (see its README). */
import { fileURLToPath } from 'node:url';

export const PUBLIC_DATA = fileURLToPath(new URL('../fixtures/public-data/', import.meta.url));

// Paths of the example manifests, from the compiled test's folder (dist/test/config).

import { join } from 'node:path';

export const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'config');
export const THRIFT_DEMO = join(FIXTURES, 'thrift-demo');
export const EXTRA_SERVICES = join(FIXTURES, 'extra-services.yaml');

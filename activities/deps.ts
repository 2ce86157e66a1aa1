// What activities close over. The worker passes the real database and store; tests pass their own.
import type { Db } from './db/client';
import type { ArtifactStore } from './store/artifact-store';

export interface ActivityDeps {
  db: Db;
  store: ArtifactStore;
}

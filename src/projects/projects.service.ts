import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { decodeKeysetCursor, encodeKeysetCursor, KeysetPosition, SecretBox, SqlParams, ValidationError } from '../common';
import { limitsConfig, LimitsConfig } from '../config';
import type { FilterCondition } from '../query';
import { FilteredKeyCache } from './filtered-key-cache';
import { isFilteredKeyForm, MAX_FILTERED_KEY_CHARS, readFilteredKey } from './filtered-key';
import { DEFAULT_PROJECT_LIST_LIMIT, ListProjectsQueryDto, ProjectListDto } from './dto/project-list.dto';
import { ApiKey, KEY_PERMISSIONS, KeyType, Permission } from './entities/api-key.entity';
import { Project } from './entities/project.entity';

/** The caller of an API request, established by `ApiKeyGuard`. */
export interface ProjectContext {
  projectId: string;
  /** The key's type; `filtered` for a filtered key (docs/keys.md). */
  keyType: KeyType | 'filtered';
  /** What the key may do: KEY_PERMISSIONS of its type, or a filtered key's `canPush`/`canQuery` (never `master`). */
  permissions: readonly Permission[];
  /**
   * Conditions ANDed to every query, small export and S3 export made with the key: a filtered
   * key's `filters` (docs/keys.md, "What a filtered key narrows"); empty for the other keys.
   */
  keyFilters: readonly FilterCondition[];
}

/** Why `authenticate` refused a request: an unknown project or key, or a filtered key that is not valid for the project. */
export type AuthenticationFailure = 'unknown-key' | 'invalid-filtered-key';

/** A project's keys in plain text: the only time they are ever shown (POST /projects, a key reset). */
export interface CreatedProject {
  projectId: string;
  name: string;
  keys: { master: string; pushQuery: string; push: string; query: string };
}

/** A project as GET /projects lists it: never a key. */
export interface ProjectSummary {
  projectId: string;
  name: string;
  /** ISO-8601 UTC with milliseconds. */
  created: string;
}

/** A position in the (created_at DESC, id DESC) order of projects: created_at to the microsecond, and the id. */
export type ProjectListPosition = KeysetPosition;

export const PROJECT_ID = /^[0-9a-f]{24}$/;
/** Longest plain key looked up (keys are 32 hex characters; anything longer cannot be one). */
const MAX_PLAIN_KEY_CHARS = 512;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function newKeys(): CreatedProject['keys'] {
  return {
    master: randomBytes(16).toString('hex'),
    pushQuery: randomBytes(16).toString('hex'),
    push: randomBytes(16).toString('hex'),
    query: randomBytes(16).toString('hex'),
  };
}

/** Projects and their API keys (Connect docs, "HTTP API" "Key types"; filtered keys: docs/keys.md). */
@Injectable()
export class ProjectsService {
  /** Decrypted filtered keys of this process (docs/keys.md, "Caching"). */
  readonly filteredKeys = new FilteredKeyCache();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly secretBox: SecretBox,
    @Inject(limitsConfig.KEY) private readonly limitsConfig: LimitsConfig,
  ) {}

  /** Creates a project with one key of each type. Keys are 32 hex characters; only hashes are stored. */
  async create(name: string): Promise<CreatedProject> {
    const projectId = randomBytes(12).toString('hex');
    const keys = newKeys();
    await this.dataSource.transaction(async (manager) => {
      await manager.insert(Project, { id: projectId, name, masterKeyEncrypted: this.secretBox.encrypt(keys.master) });
      await this.insertKeys(manager, projectId, keys);
    });
    return { projectId, name, keys };
  }

  /**
   * Replaces all four keys of a project with new ones (docs/keys.md, "Resetting keys"), in one
   * transaction: the old keys' rows are deleted and the new master key's ciphertext replaces the
   * old one, so from the commit on the old keys, and every filtered key made with the old master
   * key, are refused by every API process (each request reads the project's current ciphertext).
   * @returns the project with its new keys (shown this once), or null for an unknown project id.
   */
  async resetKeys(projectId: string): Promise<CreatedProject | null> {
    if (!PROJECT_ID.test(projectId)) {
      return null;
    }
    return this.dataSource.transaction(async (manager) => {
      const [project]: Array<{ name: string }> = await manager.query('SELECT name FROM projects WHERE id = $1 FOR UPDATE', [projectId]);
      if (!project) {
        return null;
      }
      const keys = newKeys();
      await manager.update(Project, { id: projectId }, { masterKeyEncrypted: this.secretBox.encrypt(keys.master) });
      await manager.delete(ApiKey, { projectId });
      await this.insertKeys(manager, projectId, keys);
      return { projectId, name: project.name, keys };
    });
  }

  /**
   * GET /projects (docs/keys.md, "Listing projects"): a page of projects, newest first (created,
   * then id, descending), never their keys; `next` is an opaque cursor for the following page,
   * null on the last one. Keyset-paginated: a project created while paging appears on no later
   * page, and none is skipped or repeated.
   * @param parameterNames the request's query parameter names: `limit[]=…` and such bracketed
   *   forms are refused rather than ignored.
   * @throws ValidationError (422) for a bracketed parameter (named after it), or (field `cursor`)
   *   for a cursor not given by an earlier answer (`limit` is validated by ListProjectsQueryDto).
   */
  async list(params: ListProjectsQueryDto, parameterNames: string[] = []): Promise<ProjectListDto> {
    for (const name of parameterNames) {
      const known = /^(limit|cursor)\[/.exec(name);
      if (known) throw ValidationError.of(known[1], `${known[1]} must be a plain parameter (${known[1]}=…), not ${name.slice(0, 64)}=…`);
    }
    const limit = params.limit ?? DEFAULT_PROJECT_LIST_LIMIT;
    const after = params.cursor === undefined ? undefined : decodeKeysetCursor(params.cursor, 'GET /projects');
    const rows = await this.listPage(limit + 1, after);
    const page = rows.slice(0, limit);
    return {
      results: page.map((row) => row.project),
      next: rows.length > limit ? encodeKeysetCursor(page[page.length - 1].position) : null,
    };
  }

  /**
   * A page of projects in (created_at DESC, id DESC) order, and the position of each row.
   * @param limit rows to return; `after` = only projects strictly after this position.
   */
  async listPage(limit: number, after?: ProjectListPosition): Promise<Array<{ project: ProjectSummary; position: ProjectListPosition }>> {
    const params = new SqlParams();
    const where = after ? `WHERE (created_at, id) < (${params.add(after.createdAt)}::timestamptz, ${params.add(after.id)}::char(24))` : '';
    const rows: Array<{ id: string; name: string; created_at: Date; created_at_us: string }> = await this.dataSource.query(
      `SELECT id, name, created_at, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_us
         FROM projects ${where}
        ORDER BY created_at DESC, id DESC
        LIMIT ${params.add(limit)}`,
      params.values,
    );
    return rows.map((row) => ({
      project: { projectId: row.id, name: row.name, created: row.created_at.toISOString() },
      position: { createdAt: row.created_at_us, id: row.id },
    }));
  }

  /**
   * Finds what a project id and API key may do (docs/api.md, "Keys and projects"; docs/keys.md).
   *
   * A plain key is looked up by its SHA-256 in `api_keys`. A key of the filtered form
   * (`<32 hex>-<hex>`) is decrypted with the project's master key and parsed, once per process and
   * master key (FilteredKeyCache): every request reads the project's master-key ciphertext (one
   * primary-key lookup, as a plain key costs one), and only a key not yet cached with that
   * ciphertext is decrypted.
   * @returns the caller; or `unknown-key` (malformed project id, unknown project or key), or
   *   `invalid-filtered-key` for a key of the filtered form that is not valid for the project,
   *   whatever the reason (unknown project included), so the answer is the same for every failure.
   */
  async authenticate(projectId: string, apiKey: string): Promise<ProjectContext | AuthenticationFailure> {
    if (isFilteredKeyForm(apiKey)) {
      return this.authenticateFiltered(projectId, apiKey);
    }
    if (!PROJECT_ID.test(projectId) || apiKey.length === 0 || apiKey.length > MAX_PLAIN_KEY_CHARS) {
      return 'unknown-key';
    }
    const key = await this.dataSource.getRepository(ApiKey).findOneBy({ keyHash: hashApiKey(apiKey), projectId });
    return key ? { projectId, keyType: key.keyType, permissions: KEY_PERMISSIONS[key.keyType], keyFilters: [] } : 'unknown-key';
  }

  private async authenticateFiltered(projectId: string, apiKey: string): Promise<ProjectContext | AuthenticationFailure> {
    if (!PROJECT_ID.test(projectId) || apiKey.length > MAX_FILTERED_KEY_CHARS) {
      return 'invalid-filtered-key';
    }
    const [row]: Array<{ master_key_encrypted: string }> = await this.dataSource.query(
      'SELECT master_key_encrypted FROM projects WHERE id = $1',
      [projectId],
    );
    if (!row) {
      return 'invalid-filtered-key';
    }
    const cacheId = FilteredKeyCache.cacheId(projectId, row.master_key_encrypted, apiKey);
    let definition = this.filteredKeys.get(cacheId);
    if (!definition) {
      // Failures are not cached: they are rate limited (failed authentications) instead.
      const read = readFilteredKey(apiKey, this.secretBox.decrypt(row.master_key_encrypted), this.limitsConfig.query);
      if (!read) {
        return 'invalid-filtered-key';
      }
      definition = read;
      this.filteredKeys.set(cacheId, definition, apiKey.length);
    }
    const permissions: Permission[] = [];
    if (definition.canPush) permissions.push('push');
    if (definition.canQuery) permissions.push('query');
    return { projectId, keyType: 'filtered', permissions, keyFilters: definition.filters };
  }

  private async insertKeys(manager: EntityManager, projectId: string, keys: CreatedProject['keys']): Promise<void> {
    await manager.insert(ApiKey, [
      { keyHash: hashApiKey(keys.master), projectId, keyType: KeyType.Master },
      { keyHash: hashApiKey(keys.pushQuery), projectId, keyType: KeyType.PushQuery },
      { keyHash: hashApiKey(keys.push), projectId, keyType: KeyType.Push },
      { keyHash: hashApiKey(keys.query), projectId, keyType: KeyType.Query },
    ]);
  }
}

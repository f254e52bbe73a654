import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { SecretBox } from '../common/secret-box';
import { ApiKey, KeyType } from './entities/api-key.entity';
import { Project } from './entities/project.entity';

/** The caller of an API request, established by `ApiKeyGuard`. */
export interface ProjectContext {
  projectId: string;
  keyType: KeyType;
}

/** A created project with its keys in plain text: the only time they are ever shown. */
export interface CreatedProject {
  projectId: string;
  name: string;
  keys: { master: string; pushQuery: string; push: string; query: string };
}

const PROJECT_ID = /^[0-9a-f]{24}$/;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Projects and their API keys (Connect docs, "HTTP API" "Key types"). */
@Injectable()
export class ProjectsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly secretBox: SecretBox,
  ) {}

  /** Creates a project with one key of each type. Keys are 32 hex characters; only hashes are stored. */
  async create(name: string): Promise<CreatedProject> {
    const projectId = randomBytes(12).toString('hex');
    const keys = {
      master: randomBytes(16).toString('hex'),
      pushQuery: randomBytes(16).toString('hex'),
      push: randomBytes(16).toString('hex'),
      query: randomBytes(16).toString('hex'),
    };
    await this.dataSource.transaction(async (manager) => {
      await manager.insert(Project, { id: projectId, name, masterKeyEncrypted: this.secretBox.encrypt(keys.master) });
      await manager.insert(ApiKey, [
        { keyHash: hashApiKey(keys.master), projectId, keyType: KeyType.Master },
        { keyHash: hashApiKey(keys.pushQuery), projectId, keyType: KeyType.PushQuery },
        { keyHash: hashApiKey(keys.push), projectId, keyType: KeyType.Push },
        { keyHash: hashApiKey(keys.query), projectId, keyType: KeyType.Query },
      ]);
    });
    return { projectId, name, keys };
  }

  /**
   * Finds the project and key type for a project id and API key.
   * @returns null when the project id is malformed or the key is not one of that project's keys.
   */
  async authenticate(projectId: string, apiKey: string): Promise<ProjectContext | null> {
    if (!PROJECT_ID.test(projectId) || apiKey.length === 0 || apiKey.length > 512) {
      return null;
    }
    const key = await this.dataSource.getRepository(ApiKey).findOneBy({ keyHash: hashApiKey(apiKey), projectId });
    return key ? { projectId, keyType: key.keyType } : null;
  }
}

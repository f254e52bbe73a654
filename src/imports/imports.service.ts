import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bull';
import { randomBytes } from 'node:crypto';
import {
  collectionNameProblem,
  ConflictError,
  DEPENDENCY_RETRY_AFTER_SECONDS,
  NotFoundError,
  SecretBox,
  ServiceUnavailableError,
  TooManyRequestsError,
  ValidationError,
  withTimeout,
} from '../common';
import { ExportsConfig, exportsConfig, importsConfig, ImportsConfig, redisConfig, RedisConfig } from '../config';
import { parseS3ObjectPath } from '../s3';
import { CreateImportDto } from './dto/create-import.dto';
import { ImportStatusDto } from './dto/import-status.dto';
import {
  IMPORT_CANCELLED_MESSAGE,
  IMPORT_JOB,
  IMPORT_QUEUE,
  ImportJobData,
  PENDING_IMPORTS_RETRY_AFTER_SECONDS,
} from './imports.constants';
import { ImportsRepository } from './imports.repository';

const IMPORT_ID = /^[0-9a-f]{24}$/;

/** The created import: its monitor document and where to watch it. */
export interface CreatedImport {
  status: ImportStatusDto;
  location: string;
}

function importNotFound(id: string): NotFoundError {
  return new NotFoundError(`No import '${id.slice(0, 64)}'.`);
}

/** Bulk imports from S3 (Connect docs, "Importing events"; docs/imports.md): create, monitor, cancel, queue. */
@Injectable()
export class ImportsService {
  private readonly logger = new Logger(ImportsService.name);

  constructor(
    private readonly imports: ImportsRepository,
    @Inject(importsConfig.KEY) private readonly importsConfig: ImportsConfig,
    @Inject(exportsConfig.KEY) private readonly exportsConfig: ExportsConfig,
    @Inject(redisConfig.KEY) private readonly redisConfig: RedisConfig,
    private readonly secretBox: SecretBox,
    @InjectQueue(IMPORT_QUEUE) private readonly queue: Queue<ImportJobData>,
  ) {}

  /**
   * Creates an import: validates the collection name and `s3Path` (an object, in the forms and
   * under the allow-list of exports), stores the credentials encrypted and queues the job (its data
   * is the import id only). As with exports, the committed row is what makes the import happen:
   * when Redis does not take the job in time, the workers' sweep queues it.
   * @throws ValidationError (422) for an invalid collection name or s3Path (the DTO checks the other fields);
   *         TooManyRequestsError (429, Retry-After) when the project has IMPORT_MAX_PENDING_PER_PROJECT unfinished imports.
   */
  async create(projectId: string, body: CreateImportDto, baseUrl: string): Promise<CreatedImport> {
    const problem = collectionNameProblem(body.collection);
    if (problem) throw ValidationError.of('collection', problem);
    const { location, key } = parseS3ObjectPath(body.s3Path, this.exportsConfig.s3AllowedEndpoints);
    const id = randomBytes(12).toString('hex');
    const cap = this.importsConfig.maxPendingPerProject;
    const record = await this.imports.createWithinCap(
      {
        id,
        projectId,
        collection: body.collection,
        s3Endpoint: location.endpoint,
        s3Region: location.region,
        s3Bucket: location.bucket,
        s3Key: key,
        credentialsSealed: this.secretBox.encrypt(
          JSON.stringify({ accessKeyId: body.s3AccessKeyId, secretAccessKey: body.s3SecretAccessKey }),
        ),
        queuePrefix: this.redisConfig.queuePrefix,
      },
      cap,
    );
    if (!record) {
      throw new TooManyRequestsError(
        `This project already has ${cap} unfinished imports (Pending or Running), the most it may have at once. ` +
          'Wait for one to finish, or cancel one (DELETE /event-import/:id), then try again.',
        PENDING_IMPORTS_RETRY_AFTER_SECONDS,
      );
    }
    this.logger.log({
      msg: `import ${id} created: s3://${location.bucket}/${key} into ${body.collection}`,
      event: 'import.created',
      importId: id,
      projectId,
      collection: body.collection,
    });
    try {
      await this.enqueue(id);
    } catch (error) {
      this.logger.warn(`import ${id} is stored but not queued (${(error as Error).message}); the import sweep will queue it`);
    }
    return { status: ImportStatusDto.from(record), location: `${baseUrl}/event-import/${id}` };
  }

  /**
   * Queues an import's job; a no-op when one with that id is queued already (jobId = import id).
   * @throws ServiceUnavailableError (503) when Redis does not answer within REDIS_COMMAND_TIMEOUT_MS.
   */
  async enqueue(importId: string): Promise<void> {
    const ms = this.redisConfig.commandTimeoutMs;
    await withTimeout(
      this.queue.add(IMPORT_JOB, { importId }, { jobId: importId }),
      ms,
      () => new ServiceUnavailableError(`The import queue (Redis) did not answer within ${ms} ms.`, DEPENDENCY_RETRY_AFTER_SECONDS),
    );
  }

  /**
   * The monitor document (Connect docs, "Importing events").
   * @throws NotFoundError (404) for an unknown id, or one of another project.
   */
  async status(projectId: string, id: string): Promise<ImportStatusDto> {
    const record = IMPORT_ID.test(id) ? await this.imports.findOne(projectId, id) : null;
    if (!record) throw importNotFound(id);
    return ImportStatusDto.from(record);
  }

  /**
   * Cancels a Pending or Running import (docs/imports.md, "Cancelling"): Failed with
   * IMPORT_CANCELLED_MESSAGE, finished now, credentials wiped. Batches already committed stay
   * stored; a running attempt stops before its next commit.
   * @throws NotFoundError (404) for an unknown id or one of another project;
   *         ConflictError (409) when the import has already finished.
   */
  async cancel(projectId: string, id: string): Promise<ImportStatusDto> {
    const outcome = IMPORT_ID.test(id) ? await this.imports.cancel(projectId, id, IMPORT_CANCELLED_MESSAGE) : null;
    if (outcome === null) throw importNotFound(id);
    if (outcome === 'finished')
      throw new ConflictError(`Import '${id}' has already finished; only Pending or Running imports can be cancelled.`);
    this.logger.log({ msg: `import ${id} cancelled`, event: 'import.cancelled', importId: id, projectId });
    return ImportStatusDto.from(outcome);
  }
}

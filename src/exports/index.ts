/** The public face of exports/: what other modules import (eslint.config.mjs, "Module boundaries"). */
export { CreateS3ExportDto } from './dto/create-s3-export.dto';
export { Export } from './entities/export.entity';
export { ExportQueueModule } from './export-queue.module';
export { EXPORT_QUEUE } from './exports.constants';
export { ExportsModule } from './exports.module';
export { ExportWorker } from './export-worker';

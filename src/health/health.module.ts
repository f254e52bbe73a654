import { Module } from '@nestjs/common';
import { ExportQueueModule } from '../exports/export-queue.module';
import { HealthController } from './health.controller';

@Module({
  imports: [ExportQueueModule],
  controllers: [HealthController],
})
export class HealthModule {}

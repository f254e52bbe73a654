import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { RequiresAdminToken } from '../common';
import { Metrics } from './metrics';

/**
 * `GET /metrics` on PORT, behind `X-Admin-Token` like every operator endpoint (403 when ADMIN_TOKEN
 * is unset, 401 for a missing or wrong token). Not registered when METRICS_PORT is set: the
 * metrics are then served there, without a token (MetricsListener). Kept out of the OpenAPI
 * document, which describes the Connect API (docs/monitoring.md describes this endpoint).
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @RequiresAdminToken()
  async render(@Res() response: Response): Promise<void> {
    const text = await this.metrics.render();
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('Content-Type', this.metrics.contentType);
    response.end(text);
  }
}

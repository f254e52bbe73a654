import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

/** Most projects one page of GET /projects holds. */
export const MAX_PROJECT_LIST_LIMIT = 100;
/** Page size of GET /projects when `limit` is absent. */
export const DEFAULT_PROJECT_LIST_LIMIT = 20;

const LIMIT_MESSAGE = `limit must be an integer from 1 to ${MAX_PROJECT_LIST_LIMIT}`;

/**
 * Query parameters of `GET /projects` (docs/keys.md, "Listing projects"). A parameter given twice
 * arrives as an array and is a 422 on that field; unknown parameters are ignored.
 */
export class ListProjectsQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_PROJECT_LIST_LIMIT,
    default: DEFAULT_PROJECT_LIST_LIMIT,
    description: `Projects per page, 1–${MAX_PROJECT_LIST_LIMIT}.`,
  })
  // Only plain decimal digits become a number ('1e1', ' 5', '0x10' stay text and are refused).
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value))
  @IsOptional()
  @IsInt({ message: LIMIT_MESSAGE })
  @Min(1, { message: LIMIT_MESSAGE })
  @Max(MAX_PROJECT_LIST_LIMIT, { message: LIMIT_MESSAGE })
  limit?: number;

  @ApiPropertyOptional({
    description: 'The `next` value of the previous page; absent for the first page.',
  })
  @IsOptional()
  @IsString({ message: 'cursor must be given once, as the `next` value of an earlier answer' })
  cursor?: string;
}

/** One project of a GET /projects page: never a key. */
export class ProjectSummaryDto {
  @ApiProperty({ example: '559de2011f2ddd1860bd29fb', description: 'The project id (X-Project-Id).' })
  projectId: string;
  @ApiProperty({ example: 'Flower shop' })
  name: string;
  @ApiProperty({ example: '2026-01-02T03:04:05.123Z', description: 'When the project was created: ISO-8601, UTC, milliseconds.' })
  created: string;
}

/** Body of `GET /projects`: a page of projects, newest first, and the cursor of the next page. */
export class ProjectListDto {
  @ApiProperty({ type: [ProjectSummaryDto] })
  results: ProjectSummaryDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Opaque cursor: pass it as `cursor` for the next page; null on the last page.',
    example: null,
  })
  next: string | null;
}

import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query, Req } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { errorExamples, ErrorMessageDto, JsonBody, MAX_OTHER_BODY, NotFoundError, RequiresAdminToken, ValidationErrorDto } from '../common';
import { CreatedProjectDto, CreateProjectDto } from './dto/create-project.dto';
import { ListProjectsQueryDto, ProjectListDto } from './dto/project-list.dto';
import { ProjectsService } from './projects.service';

@ApiTags('projects')
@Controller('projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @RequiresAdminToken()
  @JsonBody({ limitBytes: MAX_OTHER_BODY })
  @ApiOperation({
    summary: 'Create a project and its four API keys (operators only)',
    description: 'The keys (master, push/query, push, query) are shown this once; only their hashes are stored.',
  })
  @ApiCreatedResponse({ type: CreatedProjectDto, description: 'The project is created: its id, name and four keys.' })
  @ApiUnprocessableEntityResponse({
    type: ValidationErrorDto,
    description: 'Missing or invalid `name`.',
    examples: errorExamples('invalidProjectName'),
  })
  create(@Body() body: CreateProjectDto): Promise<CreatedProjectDto> {
    return this.projects.create(body.name);
  }

  @Get()
  @RequiresAdminToken()
  @ApiOperation({
    summary: 'List projects (operators only)',
    description:
      'Newest first (`created`, then `projectId`, descending): id, name and creation time, never a key. Pages are ' +
      'keyset-paginated: pass `next` as `cursor` until it is null (docs/keys.md, "Listing projects").',
  })
  @ApiOkResponse({ type: ProjectListDto, description: 'One page of projects, and the cursor of the next (null on the last page).' })
  @ApiUnprocessableEntityResponse({
    type: ValidationErrorDto,
    description: 'Invalid `limit` (1–100) or `cursor`; the error names the field.',
    examples: errorExamples('invalidProjectListLimit'),
  })
  list(@Query() params: ListProjectsQueryDto, @Req() request: Request): Promise<ProjectListDto> {
    return this.projects.list(params, Object.keys(request.query));
  }

  @Post(':projectId/keys/reset')
  @HttpCode(HttpStatus.OK)
  @RequiresAdminToken()
  @ApiOperation({
    summary: "Replace all four of a project's keys (operators only)",
    description:
      'Generates a new master, push/query, push and query key, shown this once. From then on the old keys, and every ' +
      'filtered key made with the old master key, are refused with 401 by every API process (docs/keys.md, "Resetting keys"). ' +
      'Events and exports are kept.',
  })
  @ApiParam({ name: 'projectId', description: 'The project id (24 hex characters).', example: '559de2011f2ddd1860bd29fb' })
  @ApiOkResponse({ type: CreatedProjectDto, description: 'The project and its new keys, as POST /projects answers.' })
  @ApiNotFoundResponse({ type: ErrorMessageDto, description: 'No project with this id.', examples: errorExamples('projectNotFound') })
  async resetKeys(@Param('projectId') projectId: string): Promise<CreatedProjectDto> {
    const reset = await this.projects.resetKeys(projectId);
    if (!reset) {
      throw new NotFoundError(`No project '${projectId.slice(0, 64)}'.`);
    }
    return reset;
  }
}

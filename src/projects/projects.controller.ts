import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { RequiresAdminToken } from '../common/auth';
import { ErrorMessageDto, ValidationErrorDto } from '../common/dto/error-response.dto';
import { JsonBody, MAX_OTHER_BODY } from '../common/json-body';
import { CreatedProjectDto, CreateProjectDto } from './dto/create-project.dto';
import { ProjectsService } from './projects.service';

@ApiTags('projects')
@Controller('projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @RequiresAdminToken()
  @JsonBody({ limitBytes: MAX_OTHER_BODY })
  @ApiOperation({ summary: 'Create a project and its four API keys (operators only)' })
  @ApiCreatedResponse({ type: CreatedProjectDto })
  @ApiBadRequestResponse({ type: ErrorMessageDto, description: 'The body is not valid JSON, or nests deeper than 100 levels.' })
  @ApiUnprocessableEntityResponse({ type: ValidationErrorDto, description: 'Invalid name.' })
  @ApiPayloadTooLargeResponse({ type: ErrorMessageDto, description: 'A body over 256 KB.' })
  create(@Body() body: CreateProjectDto): Promise<CreatedProjectDto> {
    return this.projects.create(body.name);
  }
}

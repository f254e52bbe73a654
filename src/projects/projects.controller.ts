import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { RequiresAdminToken } from '../common/auth';
import { ValidationErrorDto } from '../common/dto/error-response.dto';
import { CreatedProjectDto, CreateProjectDto } from './dto/create-project.dto';
import { ProjectsService } from './projects.service';

@ApiTags('projects')
@Controller('projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @RequiresAdminToken()
  @ApiOperation({ summary: 'Create a project and its four API keys (operators only)' })
  @ApiCreatedResponse({ type: CreatedProjectDto })
  @ApiUnprocessableEntityResponse({ type: ValidationErrorDto, description: 'Invalid name.' })
  create(@Body() body: CreateProjectDto): Promise<CreatedProjectDto> {
    return this.projects.create(body.name);
  }
}

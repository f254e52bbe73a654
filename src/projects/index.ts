/** The public face of projects/: what other modules import (eslint.config.mjs, "Module boundaries"). */
export { ApiKeyGuard } from './api-key.guard';
export { CreateProjectDto } from './dto/create-project.dto';
export { ApiKey } from './entities/api-key.entity';
export type { Permission } from './entities/api-key.entity';
export { Project } from './entities/project.entity';
export { ProjectsModule } from './projects.module';
export { ProjectsService } from './projects.service';
export type { ProjectContext } from './projects.service';

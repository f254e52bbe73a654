import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { IsCleanText } from '../../common';

export class CreateProjectDto {
  @ApiProperty({ example: 'Flower shop', description: 'A name for operators; 1–200 characters.' })
  // class-validator checks the bottom rule first, and stops at the first failure.
  @MaxLength(200)
  @IsCleanText()
  @IsString()
  name: string;
}

export class ProjectKeysDto {
  @ApiProperty({ description: 'Master Project Key: push, query, export, delete collections.' })
  master: string;
  @ApiProperty({ description: 'Push/Query Key.' })
  pushQuery: string;
  @ApiProperty({ description: 'Push Key.' })
  push: string;
  @ApiProperty({ description: 'Query Key (also exports).' })
  query: string;
}

/** The created project and its keys, in plain text this one time (only hashes are stored). */
export class CreatedProjectDto {
  @ApiProperty({ example: '559de2011f2ddd1860bd29fb' })
  projectId: string;
  @ApiProperty({ example: 'Flower shop' })
  name: string;
  @ApiProperty({ type: ProjectKeysDto })
  keys: ProjectKeysDto;
}

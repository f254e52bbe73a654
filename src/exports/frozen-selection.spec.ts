import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { ExactNumber, isExactNumber, parseJsonText, stringifyJson } from '../common';
import { parseExportQuery } from '../query';
import { CreateS3ExportDto } from './dto/create-s3-export.dto';
import { deserializeSelection, serializeSelection } from './frozen-selection';

describe('frozen selection (S3 exports)', () => {
  it('keeps ExactNumber operands through the jsonb column (JSON.stringify, then JSON.parse)', () => {
    const query = parseJsonText(
      '{"filter": {"a": 12345678901234567890, "b": {"in": [9007199254740993, 1.5]}, "c": {"gt": -0.1000000000000000055511151231257827}}}',
    );
    const selection = parseExportQuery(query as Record<string, unknown>, new Date());
    const stored = JSON.parse(JSON.stringify(serializeSelection(selection)));
    const loaded = deserializeSelection(stored);
    expect(stringifyJson(loaded.filters.map((f) => f.operand))).toBe(
      '[12345678901234567890,[9007199254740993,1.5],-0.1000000000000000055511151231257827]',
    );
    expect(isExactNumber(loaded.filters[0].operand)).toBe(true);
  });

  it('reads a selection stored before ExactNumbers existed', () => {
    const stored = {
      filters: [
        { path: ['a'], operator: 'eq', operand: 5 },
        { path: ['b'], operator: 'in', operand: ['x'] },
      ],
      timeframe: null,
    };
    expect(deserializeSelection(stored).filters).toEqual(stored.filters);
  });

  it('ExactNumbers in an S3 export body survive the DTO pipe (class-transformer rebuilds them)', () => {
    const body = parseJsonText('{"query": {"filter": {"order_id": 12345678901234567890}}, "s3Path": "s3://b/p/"}');
    const dto = plainToInstance(CreateS3ExportDto, body);
    const operand = (dto.query as { filter: { order_id: unknown } }).filter.order_id;
    expect(operand).toBeInstanceOf(ExactNumber);
    expect(stringifyJson(dto.query)).toBe('{"filter":{"order_id":12345678901234567890}}');
  });
});

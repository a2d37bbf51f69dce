import 'reflect-metadata';
import { IsInt, IsString } from 'class-validator';
import { AppError } from './app-error';
import { validateDto } from './validation';

class Base {
  @IsString() a!: string;
}

class Child extends Base {
  @IsInt() n!: number;
}

async function problems(cls: new () => object, payload: object): Promise<unknown> {
  try {
    await validateDto(cls, payload);
    return null;
  } catch (err) {
    return (err as AppError).details;
  }
}

describe('memoized validation metadata (validation-metadata-cache)', () => {
  it('validates as class-validator does, inherited rules included, again and again', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await problems(Child, { a: 'x', n: 1 })).toBeNull();
      // class-validator's order: the class's own rules, then inherited ones.
      expect(await problems(Child, { a: 1, n: 'y' })).toEqual([
        { field: 'n', problems: ['n must be an integer number'] },
        { field: 'a', problems: ['a must be a string'] },
      ]);
      expect(await problems(Base, { a: 'x', n: 1 })).toEqual([{ field: 'n', problems: ['property n should not exist'] }]);
    }
  });

  it('sees rules added after a class was first validated (the memo is dropped when metadata is added)', async () => {
    class Late {
      @IsString() a!: string;
    }
    expect(await problems(Late, { a: 'x' })).toBeNull();
    IsInt()(Late.prototype, 'c');
    expect(await problems(Late, { a: 'x', c: 'nope' })).toEqual([{ field: 'c', problems: ['c must be an integer number'] }]);
  });
});

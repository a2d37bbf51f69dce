/** One field's problems in a validation error (`details` of `validation_failed`). */
export interface FieldProblem {
  field: string;
  problems: string[];
}

/**
 * `@chainrule/autograd/testing`: tools to test gradients.
 *
 * - {@link gradcheck} / {@link gradgradcheck}: first and second derivatives against float64
 *   central differences, with readable reports (and `assert*` forms that throw).
 * - fast-check arbitraries: shapes ({@link arbShape}, {@link arbBroadcastableShapes}),
 *   tensors with safe value domains ({@link arbTensor}, {@link OP_DOMAINS}, {@link avoidNear})
 *   and whole random programs ({@link arbProgram}).
 * - {@link checkOp}: one call that property-tests an op's rule (first and second order) over
 *   random broadcasting shapes, and shrinks a failure to a small counterexample.
 * - Reusable engine properties: {@link propVjpLinear}, {@link propAdjointIdentity},
 *   {@link propReuseAccumulates}, {@link propInputsNotMutated}, {@link propRetainGraphDoubles}.
 * @module \@chainrule/autograd/testing
 */
export {
  arbBroadcastableShapes,
  arbDistinctTensors,
  arbShape,
  arbTensor,
  arbValue,
  avoidNear,
  clipDomain,
  KINK_MARGIN,
  OP_DOMAINS,
  type ShapeOptions,
  type TensorOptions,
} from './arbitraries.ts';
export {
  assertCheckOp,
  type CheckOpCase,
  type CheckOpFailure,
  type CheckOpOptions,
  type CheckOpReport,
  checkOp,
} from './checkOp.ts';
export {
  assertGradcheck,
  assertGradgradcheck,
  type GradcheckFailure,
  type GradcheckFn,
  type GradcheckOptions,
  type GradcheckReport,
  gradcheck,
  gradgradcheck,
  unravelIndex,
} from './gradcheck.ts';
export { arbProgram, type Program, type ProgramOptions, type ProgramStep } from './program.ts';
export {
  type PropertyOptions,
  propAdjointIdentity,
  propInputsNotMutated,
  propRetainGraphDoubles,
  propReuseAccumulates,
  propVjpLinear,
} from './properties.ts';

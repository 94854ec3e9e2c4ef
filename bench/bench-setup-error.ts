/**
 * A problem with the benchmark's setup or options, such as a missing h2load or an
 * unknown scenario name. The runner prints its message without a stack and exits with status 2.
 */
export class BenchSetupError extends Error {
  override readonly name = "BenchSetupError";
}

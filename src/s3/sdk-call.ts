/**
 * One SDK call with a deadline (retries included) and an optional cancel signal; SDK
 * errors become our typed errors here (sdk-error-mapper.ts), a cancelled call an
 * UploadAbortedError.
 */
import { UploadAbortedError } from '../errors.js'
import { mapSdkError } from './sdk-error-mapper.js'

export type SdkCall = <T>(
  operation: string,
  key: string | undefined,
  run: (opts: { abortSignal: AbortSignal }) => Promise<T>,
  deadlineMs?: number,
  cancel?: AbortSignal,
) => Promise<T>

/** Calls on `bucket`, each with `defaultDeadlineMs` unless it says otherwise. */
export function sdkCall(bucket: string, defaultDeadlineMs: number): SdkCall {
  return async (operation, key, run, deadlineMs = defaultDeadlineMs, cancel) => {
    const deadline = AbortSignal.timeout(deadlineMs)
    try {
      return await run({ abortSignal: cancel === undefined ? deadline : AbortSignal.any([deadline, cancel]) })
    } catch (err) {
      if (cancel?.aborted === true) throw new UploadAbortedError(`${operation} s3://${bucket}/${key ?? ''}: cancelled`, { cause: err })
      throw mapSdkError(err, { operation, bucket, ...(key !== undefined ? { key } : {}) })
    }
  }
}

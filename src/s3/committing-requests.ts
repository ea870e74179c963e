/**
 * The requests of one upload that can create the object: PutObject and
 * CompleteMultipartUpload. Once one is sent, the store may commit it even after the
 * client gave up on it, and lib-storage's `Upload.abort()` does give up at once: its
 * `done()` rejects while such a request is still running (it never cancels a
 * PutObject, nor a CompleteMultipartUpload already sent). A rename or unlink that
 * cancels an upload and then deletes the key would race that late commit and could
 * lose to it (a ghost object). So an upload hands lib-storage a view of the client
 * that notes these requests, and does not answer until every one has settled.
 * Part uploads are not waited for: a part never becomes an object on its own, and
 * lib-storage aborts the multipart upload once they settle.
 */
import { CompleteMultipartUploadCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'

export interface CommittingRequests {
  /** The client to give lib-storage: the same client, whose committing sends are noted. */
  readonly client: S3Client
  /** Resolves once no committing request sent through `client` is running. */
  settled(): Promise<void>
}

export function trackCommittingRequests(s3: S3Client): CommittingRequests {
  const running = new Set<Promise<unknown>>()
  const send: S3Client['send'] = ((command: unknown, ...rest: unknown[]) => {
    const sent = (s3.send as (c: unknown, ...r: unknown[]) => Promise<unknown>)(command, ...rest)
    if (command instanceof PutObjectCommand || command instanceof CompleteMultipartUploadCommand) {
      running.add(sent)
      const forget = (): void => {
        running.delete(sent)
      }
      sent.then(forget, forget)
    }
    return sent
  }) as S3Client['send']
  const client = new Proxy(s3, {
    get: (target, property, receiver) => (property === 'send' ? send : Reflect.get(target, property, receiver)),
  })
  return {
    client,
    settled: async () => {
      while (running.size > 0) await Promise.allSettled([...running])
    },
  }
}

/**
 * The one LIST pagination loop: every page of a listing, in order, following
 * continuation tokens. A caller that has seen enough breaks out of its
 * `for await`, and no further page is asked for.
 */
import type { ListPage, ListPageRequest, ObjectClient } from './object-client.js'

export async function* listPages(client: Pick<ObjectClient, 'listPage'>, request: Omit<ListPageRequest, 'continuationToken'>): AsyncGenerator<ListPage> {
  let token: string | undefined
  do {
    const page = await client.listPage({ ...request, ...(token !== undefined ? { continuationToken: token } : {}) })
    yield page
    token = page.nextContinuationToken
  } while (token !== undefined)
}

/**
 * The REST client for the server extension (`<base_url>mlprod/…`, see the REST table in
 * docs/ARCHITECTURE.md). The only module that talks to the server.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IRunSummary, IStoreView } from './lifecycle';
import { ICheckReport, IJob, IReportProblem } from './model';

/** What the server can do; Verify and Run are offered only when it says so. */
export interface ICapabilities {
  version: string;
  convert: boolean;
  run: boolean;
  verify: boolean;
}

export interface IConvertRequest {
  path: string;
  output_dir: string;
  name?: string;
  force?: boolean;
  lift_paths?: boolean;
}

export interface IConvertResult {
  output_dir: string;
  files: string[];
  warnings: string[];
}

/** A non-2xx answer, with the server's `{message, problems?}` body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: IReportProblem[] = []
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Call `mlprod/<path>` and return its JSON answer; raise ApiError on non-2xx answers. */
export async function requestAPI<T>(
  path: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'mlprod', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let body: any = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { message: text };
    }
  }
  if (!response.ok) {
    const message =
      body && typeof body.message === 'string' && body.message
        ? body.message
        : `${response.status} ${response.statusText}`;
    const problems = body && Array.isArray(body.problems) ? body.problems : [];
    throw new ApiError(response.status, message, problems);
  }
  return body as T;
}

function post<T>(path: string, body: unknown): Promise<T> {
  return requestAPI<T>(path, { method: 'POST', body: JSON.stringify(body) });
}

export function getCapabilities(): Promise<ICapabilities> {
  return requestAPI<ICapabilities>('capabilities');
}

/** Analyse the notebook as edited (unsaved changes included). */
export function analyse(path: string, notebook: unknown): Promise<ICheckReport> {
  return post<ICheckReport>('analyse', { path, notebook });
}

/** Convert the notebook on disk (the caller saves first). */
export function convert(request: IConvertRequest): Promise<IConvertResult> {
  return post<IConvertResult>('convert', request);
}

export function startRun(
  path: string,
  parameters: Record<string, unknown>,
  runsDir?: string
): Promise<{ job_id: string }> {
  return post<{ job_id: string }>('run', { path, parameters, runs_dir: runsDir });
}

export function startVerify(
  path: string,
  runsDir?: string,
  parameters: Record<string, unknown> = {}
): Promise<{ job_id: string }> {
  return post<{ job_id: string }>('verify', { path, runs_dir: runsDir, parameters });
}

/** The notebook's runs under its runs directory, newest first. */
export function listRuns(
  path: string,
  runsDir?: string
): Promise<{ notebook: string; runs_dir: string; runs: IRunSummary[] }> {
  const query = URLExt.objectToQueryString({ path, ...(runsDir ? { runs_dir: runsDir } : {}) });
  return requestAPI(`runs${query}`);
}

/** A model store's versions, aliases, history and drift. */
export function getModels(store: string): Promise<IStoreView> {
  return requestAPI<IStoreView>(`models${URLExt.objectToQueryString({ store })}`);
}

/** Point `alias` at `version`; answers the store's new view. */
export function promoteModel(store: string, version: string, alias: string): Promise<IStoreView> {
  return post<IStoreView>('models/promote', { store, version, alias });
}

/** Move `alias` back to its previous version; answers the store's new view. */
export function rollbackModel(store: string, alias: string): Promise<IStoreView> {
  return post<IStoreView>('models/rollback', { store, alias });
}

export function getJob(jobId: string): Promise<IJob> {
  return requestAPI<IJob>(URLExt.join('jobs', encodeURIComponent(jobId)));
}

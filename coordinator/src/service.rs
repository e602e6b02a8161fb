//! The `ScanService` implementation: each RPC reads or writes Redis through the queue.

use crate::{Clock, Config, Error, unix_ms};
use futures::Stream;
use proto::v1;
use queue::{JobId, JobInfo, Queue};
use std::collections::VecDeque;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

/// Results read from Redis per round trip when streaming or reporting.
const PAGE: u64 = 500;
/// Messages buffered per server stream (the stream task waits when the client is slow).
const STREAM_BUFFER: usize = 64;

type ServerStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The coordinator's gRPC service.
#[derive(Clone)]
pub struct Service {
    queue: Queue,
    config: Config,
    clock: Clock,
    shutdown: CancellationToken,
}

impl Service {
    pub fn new(queue: Queue, config: Config, clock: Clock, shutdown: CancellationToken) -> Self {
        Service {
            queue,
            config,
            clock,
            shutdown,
        }
    }

    fn now_ms(&self) -> u64 {
        unix_ms((self.clock)())
    }

    async fn find(&self, id: &str) -> Result<JobInfo, Error> {
        let job = JobId::parse(id).map_err(|_| Error::NotFound(id.to_owned()))?;
        self.queue
            .job(&job)
            .await?
            .ok_or_else(|| Error::NotFound(id.to_owned()))
    }

    async fn status(&self, info: &JobInfo, rate: Option<f64>) -> v1::JobStatus {
        let now = self.now_ms();
        let window = self.config.worker_window.as_millis() as u64;
        let workers = self
            .queue
            .active_workers(now.saturating_sub(window))
            .await
            .unwrap_or(0);
        let rate = rate.unwrap_or_else(|| {
            let end = if info.finished_ms > 0 {
                info.finished_ms
            } else {
                now
            };
            let secs = end.saturating_sub(info.created_ms) as f64 / 1000.0;
            if secs > 0.0 {
                info.done as f64 / secs
            } else {
                0.0
            }
        });
        to_status(info, rate, workers)
    }

    async fn submit(
        &self,
        mut stream: Streaming<v1::SubmitJobRequest>,
    ) -> Result<v1::SubmitJobResponse, Status> {
        use v1::submit_job_request::Part;
        let header = match stream.message().await? {
            Some(v1::SubmitJobRequest {
                part: Some(Part::Header(h)),
            }) => h,
            _ => {
                return Err(Error::InvalidArgument(
                    "the first SubmitJob message must be the job header".into(),
                )
                .into());
            }
        };
        let now = (self.clock)();
        let millis = unix_ms(now);
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            millis / 1000,
            ((millis % 1000) * 1_000_000) as u32,
        );
        let job = JobId::parse(&uuid::Uuid::new_v7(ts).to_string()).map_err(Error::from)?;
        let label = header.options.map(|o| o.label).unwrap_or_default();
        let settings = header
            .settings
            .map(model::JobSettings::try_from)
            .transpose()
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        self.queue
            .create_job(&job, &header.name, &label, millis)
            .await
            .map_err(Error::from)?;
        // Stored before the job is sealed: no worker ever sees the job without them.
        if let Some(settings) = &settings
            && let Err(e) = self
                .queue
                .set_job_settings(&job, settings, &header.settings_digest)
                .await
        {
            let _ = self.queue.discard_job(&job).await;
            return Err(Error::from(e).into());
        }
        match self.receive_sites(&job, &mut stream).await {
            Ok(()) => {}
            Err(status) => {
                if let Err(e) = self.queue.discard_job(&job).await {
                    tracing::warn!(job = %job, "discarding a rejected upload: {e}");
                }
                return Err(status);
            }
        }
        let info = match self
            .queue
            .seal_job(&job, self.config.shard_size, self.now_ms())
            .await
        {
            Ok(info) => info,
            Err(e) => {
                let _ = self.queue.discard_job(&job).await;
                return Err(Error::from(e).into());
            }
        };
        tracing::info!(job = %job, name = %header.name, sites = info.total, shards = info.shards, "job enqueued");
        Ok(v1::SubmitJobResponse {
            job_id: job.to_string(),
            sites: info.total,
            shards: info.shards,
        })
    }

    async fn receive_sites(
        &self,
        job: &JobId,
        stream: &mut Streaming<v1::SubmitJobRequest>,
    ) -> Result<(), Status> {
        use v1::submit_job_request::Part;
        let mut index: u64 = 0;
        while let Some(msg) = stream.message().await? {
            let chunk = match msg.part {
                Some(Part::Sites(chunk)) => chunk,
                Some(Part::Header(_)) => {
                    return Err(Error::InvalidArgument(
                        "a second job header in one SubmitJob".into(),
                    )
                    .into());
                }
                None => continue,
            };
            if index + chunk.sites.len() as u64 > self.config.max_job_sites {
                return Err(Error::InvalidArgument(format!(
                    "the list has more than {max} sites, the most one job may hold at this coordinator (--max-job-sites {max}); split it into several jobs",
                    max = self.config.max_job_sites
                ))
                .into());
            }
            let mut sites = Vec::with_capacity(chunk.sites.len());
            for wire in chunk.sites {
                let site = model::Site::try_from(wire).map_err(|e| {
                    Error::InvalidArgument(format!("site #{} of the list: {e}", index + 1))
                })?;
                sites.push(site);
                index += 1;
            }
            self.queue
                .append_sites(job, &sites)
                .await
                .map_err(Error::from)?;
        }
        if index == 0 {
            return Err(Error::Queue(queue::Error::EmptyJob).into());
        }
        Ok(())
    }
}

fn to_status(info: &JobInfo, rate: f64, workers: u64) -> v1::JobStatus {
    let state = match info.state {
        queue::JobState::Submitting => v1::JobState::Submitting,
        queue::JobState::Running => v1::JobState::Running,
        queue::JobState::Done => v1::JobState::Done,
        queue::JobState::Cancelled => v1::JobState::Cancelled,
    };
    v1::JobStatus {
        job_id: info.id.to_string(),
        name: info.name.clone(),
        label: info.label.clone(),
        state: state as i32,
        total: info.total,
        queued: info.queued(),
        in_flight: info.in_flight(),
        done: info.done,
        failed: info.failed,
        rate,
        workers_active: workers as u32,
        shards: info.shards,
        created_unix_ms: info.created_ms as i64,
        finished_unix_ms: info.finished_ms as i64,
        settings: info.settings.as_ref().map(v1::ScanSettings::from),
        settings_digest: info.settings_digest.clone(),
    }
}

/// The report message of a job: the report crate's tally (one count, one order and one
/// ratio for every report of the project), in wire form.
fn to_report(tally: &report::Tally, job_id: String) -> v1::Report {
    let total = tally.total();
    v1::Report {
        job_id,
        count: total.counts.count,
        adopted: total.counts.adopted,
        forced: total.counts.forced,
        categories: tally
            .groups()
            .into_iter()
            .map(|g| v1::CategoryRow {
                category: g.group,
                count: g.row.counts.count,
                adopted: g.row.counts.adopted,
                forced: g.row.counts.forced,
            })
            .collect(),
        codes: tally
            .codes()
            .map(|(code, sites)| v1::CodeCount {
                code: code.as_str().to_owned(),
                sites,
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl v1::scan_service_server::ScanService for Service {
    async fn submit_job(
        &self,
        request: Request<Streaming<v1::SubmitJobRequest>>,
    ) -> Result<Response<v1::SubmitJobResponse>, Status> {
        self.submit(request.into_inner()).await.map(Response::new)
    }

    async fn get_job(
        &self,
        request: Request<v1::GetJobRequest>,
    ) -> Result<Response<v1::JobStatus>, Status> {
        let info = self.find(&request.into_inner().job_id).await?;
        Ok(Response::new(self.status(&info, None).await))
    }

    type WatchJobStream = ServerStream<v1::JobStatus>;

    async fn watch_job(
        &self,
        request: Request<v1::WatchJobRequest>,
    ) -> Result<Response<Self::WatchJobStream>, Status> {
        let request = request.into_inner();
        let info = self.find(&request.job_id).await?;
        let interval = match request.interval_ms {
            0 => self.config.watch_interval,
            ms => Duration::from_millis(ms.clamp(100, 60_000) as u64),
        };
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let service = self.clone();
        // Owned by the stream: it ends when the job ends, the client goes away, or the
        // coordinator shuts down.
        tokio::spawn(async move {
            let mut samples: VecDeque<(Instant, u64)> = VecDeque::new();
            let mut info = info;
            loop {
                let now = Instant::now();
                samples.push_back((now, info.done));
                while samples.len() > 2
                    && now.duration_since(samples[0].0) > Duration::from_secs(10)
                {
                    samples.pop_front();
                }
                let (t0, d0) = samples[0];
                let secs = now.duration_since(t0).as_secs_f64();
                let rate = if secs > 0.0 {
                    (info.done - d0.min(info.done)) as f64 / secs
                } else {
                    0.0
                };
                let status = service
                    .status(
                        &info,
                        if info.state.is_final() {
                            None
                        } else {
                            Some(rate)
                        },
                    )
                    .await;
                if tx.send(Ok(status)).await.is_err() || info.state.is_final() {
                    return;
                }
                tokio::select! {
                    _ = service.shutdown.cancelled() => {
                        let _ = tx.send(Err(Error::ShuttingDown.into())).await;
                        return;
                    }
                    _ = tx.closed() => return,
                    _ = tokio::time::sleep(interval) => {}
                }
                // Redis may be restarting: keep the stream open and try again next tick.
                loop {
                    match service.queue.job(&info.id).await {
                        Ok(Some(next)) => {
                            info = next;
                            break;
                        }
                        Ok(None) => {
                            let _ = tx.send(Err(Error::Removed(info.id.clone()).into())).await;
                            return;
                        }
                        Err(e) => {
                            tracing::warn!(job = %info.id, "watch: {e}; retrying");
                            tokio::select! {
                                _ = service.shutdown.cancelled() => return,
                                _ = tx.closed() => return,
                                _ = tokio::time::sleep(interval) => {}
                            }
                        }
                    }
                }
            }
        });
        Ok(Response::new(receiver_stream(rx)))
    }

    async fn get_report(
        &self,
        request: Request<v1::GetReportRequest>,
    ) -> Result<Response<v1::Report>, Status> {
        let info = self.find(&request.into_inner().job_id).await?;
        let mut tally = report::Tally::default();
        let mut from = 0;
        while from < info.total {
            for (index, json) in self
                .queue
                .results(&info.id, from, PAGE)
                .await
                .map_err(Error::from)?
            {
                let wire = v1::SiteResult { index, json };
                let r = proto::IndexedResult::try_from(wire)
                    .map_err(|e| Error::CorruptResult(e.to_string()))?;
                tally.add(&r.result);
            }
            from += PAGE;
        }
        Ok(Response::new(to_report(&tally, info.id.to_string())))
    }

    type StreamResultsStream = ServerStream<v1::SiteResult>;

    async fn stream_results(
        &self,
        request: Request<v1::StreamResultsRequest>,
    ) -> Result<Response<Self::StreamResultsStream>, Status> {
        let info = self.find(&request.into_inner().job_id).await?;
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let queue = self.queue.clone();
        tokio::spawn(async move {
            let mut from = 0;
            while from < info.total {
                match queue.results(&info.id, from, PAGE).await {
                    Ok(page) => {
                        for (index, json) in page {
                            if tx.send(Ok(v1::SiteResult { index, json })).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(Error::from(e).into())).await;
                        return;
                    }
                }
                from += PAGE;
            }
        });
        Ok(Response::new(receiver_stream(rx)))
    }

    async fn list_jobs(
        &self,
        _request: Request<v1::ListJobsRequest>,
    ) -> Result<Response<v1::ListJobsResponse>, Status> {
        let infos = self.queue.jobs().await.map_err(Error::from)?;
        let mut jobs = Vec::with_capacity(infos.len());
        for info in &infos {
            jobs.push(self.status(info, None).await);
        }
        Ok(Response::new(v1::ListJobsResponse { jobs }))
    }

    async fn cancel_job(
        &self,
        request: Request<v1::CancelJobRequest>,
    ) -> Result<Response<v1::JobStatus>, Status> {
        let info = self.find(&request.into_inner().job_id).await?;
        let info = self
            .queue
            .cancel(&info.id, self.now_ms())
            .await
            .map_err(Error::from)?;
        tracing::info!(job = %info.id, state = %info.state, "cancel requested");
        Ok(Response::new(self.status(&info, None).await))
    }

    async fn delete_job(
        &self,
        request: Request<v1::DeleteJobRequest>,
    ) -> Result<Response<v1::JobStatus>, Status> {
        let info = self.find(&request.into_inner().job_id).await?;
        let info = self.queue.delete_job(&info.id).await.map_err(Error::from)?;
        tracing::info!(job = %info.id, state = %info.state, sites = info.total, "job deleted");
        Ok(Response::new(to_status(&info, 0.0, 0)))
    }
}

fn receiver_stream<T: Send + 'static>(rx: mpsc::Receiver<Result<T, Status>>) -> ServerStream<T> {
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_counts_per_category_in_report_order_and_sites_per_code() {
        let site = |url: &str, cat: &str| {
            let mut s = model::Site::parse(url).unwrap();
            s.category = cat.into();
            s
        };
        let mut t = report::Tally::default();
        let mut ok = model::SiteResult::for_site(&site("a.gov.tw", "縣市政府"));
        ok.https_ok = true;
        ok.forced_https = true;
        t.add(&ok);
        let mut bad = model::SiteResult::failed(&site("b.gov.tw", "二級機關"), "x");
        bad.findings
            .push(model::Finding::new(model::Code::ScanFailed, "again"));
        t.add(&bad);
        t.add(&model::SiteResult::failed(
            &site("c.gov.tw", "縣市政府"),
            "y",
        ));
        let r = to_report(&t, "j".into());
        assert_eq!((r.count, r.adopted, r.forced), (3, 1, 1));
        let rows: Vec<_> = r
            .categories
            .iter()
            .map(|c| (c.category.as_str(), c.count, c.adopted))
            .collect();
        // The document's order (二級機關 before 縣市政府), as every report of the project.
        assert_eq!(rows, [("二級機關", 1, 0), ("縣市政府", 2, 1)]);
        // Two scan_failed findings on one site count the site once.
        assert_eq!(
            r.codes,
            [v1::CodeCount {
                code: "scan_failed".into(),
                sites: 2
            }]
        );
    }
}

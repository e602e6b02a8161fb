//! The gRPC health service follows Redis: `NOT_SERVING` (for the server as a whole, `""`,
//! and for `govscan.v1.ScanService`) while Redis does not answer a `PING`, `SERVING` again
//! once it does. A load balancer or Kubernetes probe (`grpc_health_probe`) then sends no
//! traffic to a coordinator that could only answer errors.

use proto::v1::scan_service_server::ScanServiceServer;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Longest a health `PING` may take before Redis counts as unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// Ping Redis every `every` and set the health status, until `shutdown`.
pub(crate) async fn follow_redis(
    reporter: HealthReporter,
    queue: queue::Queue,
    every: Duration,
    shutdown: CancellationToken,
) {
    let mut serving: Option<bool> = None;
    loop {
        let up = matches!(
            tokio::time::timeout(PING_TIMEOUT, queue.ping()).await,
            Ok(Ok(()))
        );
        if serving != Some(up) {
            let status = if up {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            if serving.is_some() || !up {
                tracing::warn!(
                    ?status,
                    "redis {}: gRPC health follows",
                    if up { "answers" } else { "unreachable" }
                );
            }
            reporter.set_service_status("", status).await;
            if up {
                reporter
                    .set_serving::<ScanServiceServer<crate::Service>>()
                    .await;
            } else {
                reporter
                    .set_not_serving::<ScanServiceServer<crate::Service>>()
                    .await;
            }
            serving = Some(up);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

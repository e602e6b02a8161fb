//! The coordinator's errors, and the one mapping to gRPC status codes.

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Queue(#[from] queue::Error),
    #[error("no job {0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidArgument(String),
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        use queue::Error as Q;
        match &e {
            Error::NotFound(_) | Error::Queue(Q::UnknownJob(_)) => {
                tonic::Status::not_found(e.to_string())
            }
            Error::InvalidArgument(_) | Error::Queue(Q::InvalidJobId(_) | Q::EmptyJob) => {
                tonic::Status::invalid_argument(e.to_string())
            }
            Error::Queue(Q::WrongState { .. }) => tonic::Status::failed_precondition(e.to_string()),
            Error::Queue(q) if q.is_transient() => {
                tonic::Status::unavailable(format!("the queue (Redis) is unavailable: {e}"))
            }
            Error::Queue(_) => tonic::Status::internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_the_status_a_client_can_act_on() {
        let code = |e: Error| tonic::Status::from(e).code();
        assert_eq!(code(Error::NotFound("x".into())), tonic::Code::NotFound);
        assert_eq!(
            code(Error::Queue(queue::Error::UnknownJob(
                queue::JobId::parse("j").unwrap()
            ))),
            tonic::Code::NotFound
        );
        assert_eq!(
            code(Error::Queue(queue::Error::EmptyJob)),
            tonic::Code::InvalidArgument
        );
        assert_eq!(
            code(Error::Queue(queue::Error::InvalidJobId("a:b".into()))),
            tonic::Code::InvalidArgument
        );
    }
}

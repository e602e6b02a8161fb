//! The coordinator's errors, and the one mapping to gRPC status codes: every status the
//! coordinator sends (the service's answers, its streams' ends, the [`crate::auth`] layer's
//! refusals) is made here.

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
    /// A job that went away while a client watched it.
    #[error("job {0} was removed")]
    Removed(queue::JobId),
    /// A result in Redis that does not read back.
    #[error("stored result: {0}")]
    CorruptResult(String),
    /// The server is stopping; open streams end with this.
    #[error("the coordinator is shutting down")]
    ShuttingDown,
    /// The caller could not be identified (no client certificate, no or an unknown token).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known, and its role does not allow the call.
    #[error("{0}")]
    PermissionDenied(String),
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        use queue::Error as Q;
        match &e {
            Error::NotFound(_) | Error::Removed(_) | Error::Queue(Q::UnknownJob(_)) => {
                tonic::Status::not_found(e.to_string())
            }
            Error::InvalidArgument(_) | Error::Queue(Q::InvalidJobId(_) | Q::EmptyJob) => {
                tonic::Status::invalid_argument(e.to_string())
            }
            Error::Queue(Q::WrongState { .. }) => tonic::Status::failed_precondition(e.to_string()),
            Error::Queue(q) if q.is_transient() => {
                tonic::Status::unavailable(format!("the queue (Redis) is unavailable: {e}"))
            }
            Error::Queue(_) | Error::CorruptResult(_) => tonic::Status::internal(e.to_string()),
            Error::ShuttingDown => tonic::Status::unavailable(e.to_string()),
            Error::Unauthenticated(_) => tonic::Status::unauthenticated(e.to_string()),
            Error::PermissionDenied(_) => tonic::Status::permission_denied(e.to_string()),
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

    #[test]
    fn streams_and_the_auth_layer_end_with_the_status_they_always_sent() {
        let status = |e: Error| {
            let s = tonic::Status::from(e);
            (s.code(), s.message().to_owned())
        };
        assert_eq!(
            status(Error::ShuttingDown),
            (
                tonic::Code::Unavailable,
                "the coordinator is shutting down".into()
            )
        );
        assert_eq!(
            status(Error::Removed(queue::JobId::parse("j").unwrap())),
            (tonic::Code::NotFound, "job j was removed".into())
        );
        assert_eq!(
            status(Error::CorruptResult("eof".into())),
            (tonic::Code::Internal, "stored result: eof".into())
        );
        assert_eq!(
            status(Error::Unauthenticated("unknown token".into())),
            (tonic::Code::Unauthenticated, "unknown token".into())
        );
        assert_eq!(
            status(Error::PermissionDenied("bob is a viewer".into())),
            (tonic::Code::PermissionDenied, "bob is a viewer".into())
        );
    }
}

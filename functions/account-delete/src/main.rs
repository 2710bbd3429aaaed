mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::serve(handler::handle).await
}

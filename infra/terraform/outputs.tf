# SKETCH: what the rest of the tooling needs to know.

output "api_url" {
  description = "Where the API answers (HTTP only in this sketch)."
  value       = "http://${aws_lb.api.dns_name}"
}

output "tracking_uri" {
  description = "MLFLOW_TRACKING_URI inside the VPC (the retrain workflow needs a route to it)."
  value       = "http://${local.mlflow_host}:5000"
}

output "artifact_bucket" {
  description = "S3 bucket behind the tracking server's artifact proxy."
  value       = aws_s3_bucket.artifacts.bucket
}

output "tracking_db_endpoint" {
  description = "PostgreSQL endpoint: the tracking store and the promotion lock (lock_uri)."
  value       = aws_db_instance.tracking.endpoint
}

output "prometheus_workspace_endpoint" {
  description = "Remote-write and query endpoint of the managed Prometheus workspace."
  value       = aws_prometheus_workspace.this.prometheus_endpoint
}

# SKETCH: where MLflow keeps what it tracks. docker-compose: the `postgres` service and the
# `mlflow-artifacts` volume of infra/mlflow/docker-compose.yml.

# Artifacts (run directories, model bundles), served through the MLflow server (--serve-artifacts)
# so neither trainers nor the API need bucket credentials.
resource "aws_s3_bucket" "artifacts" {
  bucket_prefix = "${var.name}-mlflow-artifacts-"
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  bucket                  = aws_s3_bucket.artifacts.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# The tracking and registry store; its advisory locks also serialise champion promotions
# (registry.registry.lock_uri in docs/TRACKING.md).
resource "aws_db_subnet_group" "tracking" {
  name       = "${var.name}-tracking"
  subnet_ids = var.private_subnet_ids
}

resource "aws_db_instance" "tracking" {
  identifier                  = "${var.name}-tracking"
  engine                      = "postgres"
  engine_version              = "16"
  instance_class              = var.db_instance_class
  allocated_storage           = 20
  max_allocated_storage       = 100
  storage_encrypted           = true
  db_name                     = "mlflow"
  username                    = "mlflow"
  manage_master_user_password = true # the password lives in Secrets Manager, never in state
  db_subnet_group_name        = aws_db_subnet_group.tracking.name
  vpc_security_group_ids      = [aws_security_group.tracking_db.id]
  backup_retention_period     = 7
  deletion_protection         = true
  skip_final_snapshot         = false
  final_snapshot_identifier   = "${var.name}-tracking-final"
}

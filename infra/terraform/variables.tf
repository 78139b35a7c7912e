# SKETCH: inputs of the mlsys cloud mapping (README.md).

variable "region" {
  description = "AWS region for every resource."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Prefix for resource names."
  type        = string
  default     = "mlsys"
}

variable "vpc_id" {
  description = "VPC holding the database, the services and the load balancer."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (at least two AZs) for RDS and the Fargate tasks."
  type        = list(string)
}

variable "public_subnet_ids" {
  description = "Public subnets for the API's load balancer."
  type        = list(string)
}

variable "api_image" {
  description = "Serving image pushed by .github/workflows/cd.yml, e.g. ghcr.io/acme/mlsys:latest."
  type        = string
}

variable "mlflow_image" {
  description = "Tracking server image built from infra/mlflow/Dockerfile."
  type        = string
}

variable "model_name" {
  description = "Registered model the API serves (the `name` used in training)."
  type        = string
  default     = "conversion"
}

variable "api_desired_count" {
  description = "API tasks: one uvicorn process each, scaled by count, not workers."
  type        = number
  default     = 2
}

variable "admin_token_secret_arn" {
  description = "Secrets Manager secret holding MLSYS_ADMIN_TOKEN for POST /model/reload."
  type        = string
}

variable "db_instance_class" {
  description = "RDS instance class for the tracking database."
  type        = string
  default     = "db.t4g.small"
}

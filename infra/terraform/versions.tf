# SKETCH, not a tested deployment: see README.md. Formatted (`terraform fmt -check`); never
# initialised, validated, planned or applied.
terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # A team keeps state remotely, e.g.:
  # backend "s3" { bucket = "acme-terraform-state", key = "mlsys/terraform.tfstate", region = "eu-west-1" }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project = "mlsys"
      managed = "terraform"
    }
  }
}

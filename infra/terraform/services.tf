# SKETCH: the tracking server and the API on ECS Fargate behind one load balancer.
# docker-compose: the `mlflow` and `api` services of infra/docker-compose.yml.

locals {
  mlflow_host = "mlflow.${aws_service_discovery_private_dns_namespace.internal.name}"
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = 30
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Pulls images, writes logs, reads the two secrets the tasks get.
resource "aws_iam_role" "execution" {
  name               = "${var.name}-ecs-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "read_secrets" {
  statement {
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      aws_db_instance.tracking.master_user_secret[0].secret_arn,
      var.admin_token_secret_arn,
    ]
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.read_secrets.json
}

# Only the tracking server touches the bucket.
resource "aws_iam_role" "mlflow" {
  name               = "${var.name}-mlflow-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "artifacts_rw" {
  statement {
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.artifacts.arn}/*"]
  }
  statement {
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.artifacts.arn]
  }
}

resource "aws_iam_role_policy" "mlflow_artifacts" {
  role   = aws_iam_role.mlflow.id
  policy = data.aws_iam_policy_document.artifacts_rw.json
}

resource "aws_ecs_task_definition" "mlflow" {
  family                   = "${var.name}-mlflow"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 1024
  memory                   = 2048
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.mlflow.arn

  container_definitions = jsonencode([{
    name         = "mlflow"
    image        = var.mlflow_image
    essential    = true
    portMappings = [{ containerPort = 5000 }]
    secrets = [{
      name      = "DB_PASSWORD"
      valueFrom = "${aws_db_instance.tracking.master_user_secret[0].secret_arn}:password::"
    }]
    # A shell, so the password from the secret goes into the DSN without being in the task
    # definition. Same flags as infra/mlflow/docker-compose.yml.
    entryPoint = ["sh", "-c"]
    command = [join(" ", [
      "exec mlflow server",
      "--backend-store-uri \"postgresql+psycopg://mlflow:$${DB_PASSWORD}@${aws_db_instance.tracking.address}:5432/mlflow\"",
      "--artifacts-destination s3://${aws_s3_bucket.artifacts.bucket}/mlartifacts --serve-artifacts",
      "--host 0.0.0.0 --port 5000 --workers 2",
      "--allowed-hosts ${local.mlflow_host},${local.mlflow_host}:*",
    ])]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "mlflow"
      }
    }
  }])
}

resource "aws_ecs_service" "mlflow" {
  name            = "${var.name}-mlflow"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.mlflow.arn
  desired_count   = 1
  launch_type     = "FARGATE"

  network_configuration {
    subnets         = var.private_subnet_ids
    security_groups = [aws_security_group.mlflow.id]
  }

  service_registries {
    registry_arn = aws_service_discovery_service.mlflow.arn
  }
}

resource "aws_ecs_task_definition" "api" {
  family                   = "${var.name}-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 1024
  memory                   = 2048
  execution_role_arn       = aws_iam_role.execution.arn

  container_definitions = jsonencode([{
    name         = "api"
    image        = var.api_image
    essential    = true
    portMappings = [{ containerPort = 8000 }]
    environment = [
      { name = "MLFLOW_TRACKING_URI", value = "http://${local.mlflow_host}:5000" },
      { name = "MLSYS_SERVE_MODEL_NAME", value = var.model_name },
      # Every task follows the champion alias: a promotion reaches all of them within 30 s.
      { name = "MLSYS_SERVE_POLL_INTERVAL_S", value = "30" },
    ]
    secrets = [{ name = "MLSYS_ADMIN_TOKEN", valueFrom = var.admin_token_secret_arn }]
    # The image's HEALTHCHECK, restated: ECS ignores Docker's.
    healthCheck = {
      command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "api"
      }
    }
  }])
}

resource "aws_lb" "api" {
  name               = "${var.name}-api"
  load_balancer_type = "application"
  subnets            = var.public_subnet_ids
  security_groups    = [aws_security_group.alb.id]
}

# Traffic only to tasks that have a model: /ready is 503 until the champion is loaded.
resource "aws_lb_target_group" "api" {
  name        = "${var.name}-api"
  port        = 8000
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  health_check {
    path                = "/ready"
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.api.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}

resource "aws_ecs_service" "api" {
  name                              = "${var.name}-api"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.api.arn
  desired_count                     = var.api_desired_count
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = 120

  network_configuration {
    subnets         = var.private_subnet_ids
    security_groups = [aws_security_group.api.id]
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = 8000
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
}

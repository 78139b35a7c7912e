# SKETCH: Prometheus and its alerts as a managed service. docker-compose: the `prometheus`
# service. The same rules file as the compose stack is uploaded here.
#
# Not sketched: the scraper. On Fargate an AWS Distro for OpenTelemetry collector sidecar (or an
# AMP managed scraper) must scrape each API task's :8000/metrics and remote-write to the
# workspace; Amazon Managed Grafana then imports infra/grafana/dashboards/mlsys.json with this
# workspace as its Prometheus datasource.

resource "aws_prometheus_workspace" "this" {
  alias = var.name
}

resource "aws_prometheus_rule_group_namespace" "alerts" {
  name         = "mlsys-api"
  workspace_id = aws_prometheus_workspace.this.id
  data         = file("${path.module}/../prometheus/alerts.yml")
}

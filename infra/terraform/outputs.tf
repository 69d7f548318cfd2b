output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "API endpoint of the cluster."
  value       = aws_eks_cluster.this.endpoint
}

output "oidc_provider_arn" {
  description = "OIDC provider the IRSA roles trust."
  value       = aws_iam_openid_connect_provider.eks.arn
}

output "serving_role_arn" {
  description = "IAM role of the image service's service account (annotate infra/k8s/serviceaccount.yaml with it)."
  value       = aws_iam_role.serving.arn
}

output "cluster_autoscaler_role_arn" {
  description = "IAM role of the cluster-autoscaler."
  value       = aws_iam_role.autoscaler.arn
}

output "gpu_node_groups" {
  description = "The GPU node groups: Spot and the on-demand baseline."
  value = {
    spot      = aws_eks_node_group.gpu_spot.node_group_name
    on_demand = try(aws_eks_node_group.gpu_on_demand[0].node_group_name, null)
  }
}

output "kubeconfig_command" {
  description = "Writes a kubeconfig entry for this cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${aws_eks_cluster.this.name}"
}

# Cluster add-ons installed with Helm: the cluster-autoscaler (grows and shrinks the GPU node
# groups from pending pods) and the aws-node-termination-handler (drains a Spot node as soon
# as its 2-minute interruption notice or a rebalance recommendation arrives).

resource "helm_release" "cluster_autoscaler" {
  name       = "cluster-autoscaler"
  namespace  = "kube-system"
  repository = "https://kubernetes.github.io/autoscaler"
  chart      = "cluster-autoscaler"
  version    = var.cluster_autoscaler_chart_version

  values = [yamlencode({
    cloudProvider = "aws"
    awsRegion     = var.region
    autoDiscovery = { clusterName = aws_eks_cluster.this.name }
    rbac = {
      serviceAccount = {
        name        = "cluster-autoscaler"
        annotations = { "eks.amazonaws.com/role-arn" = aws_iam_role.autoscaler.arn }
      }
    }
    nodeSelector = { workload = "system" }
    extraArgs = {
      # least-waste picks the cheapest fit among the Spot types; balance spreads over AZs
      expander                         = "least-waste"
      balance-similar-node-groups      = true
      skip-nodes-with-system-pods      = false
      scale-down-unneeded-time         = "10m"
      scale-down-utilization-threshold = 0.5
      max-node-provision-time          = "10m"
    }
  })]

  depends_on = [aws_eks_node_group.system]
}

resource "helm_release" "node_termination_handler" {
  name       = "aws-node-termination-handler"
  namespace  = "kube-system"
  repository = "https://aws.github.io/eks-charts"
  chart      = "aws-node-termination-handler"
  version    = var.node_termination_handler_chart_version

  values = [yamlencode({
    # IMDS mode: a DaemonSet on each Spot node watches its own metadata for the notice.
    enableSpotInterruptionDraining = true
    enableRebalanceMonitoring      = true
    enableRebalanceDraining        = true
    enableScheduledEventDraining   = true
    nodeSelector                   = { "roadmap.ai/capacity-type" = "spot" }
    tolerations                    = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]
    podTerminationGracePeriod      = 90
    nodeTerminationGracePeriod     = 110
  })]

  depends_on = [aws_eks_node_group.system]
}

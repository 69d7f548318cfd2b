# Three managed node groups:
# * system: on-demand, untainted; CoreDNS, cluster-autoscaler, the termination handler.
# * gpu-spot: Spot, several single-GPU instance types, NVIDIA AMI, tainted nvidia.com/gpu so
#   only GPU pods land there; the autoscaler moves it between gpu_spot_min and gpu_spot_max.
# * gpu-on-demand: the same taint and labels, a fixed small baseline that a Spot reclaim
#   cannot take.

locals {
  gpu_labels = {
    "workload"               = "gpu-inference"
    "nvidia.com/gpu.present" = "true"
  }
  gpu_taint = {
    key    = "nvidia.com/gpu"
    value  = "true"
    effect = "NO_SCHEDULE"
  }
}

resource "aws_launch_template" "node" {
  for_each = { system = 30, gpu = var.gpu_disk_gib }

  name_prefix            = "${var.cluster_name}-${each.key}-"
  update_default_version = true

  # IMDSv2 only, one hop: pods cannot borrow the node's role (they use IRSA).
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = each.value
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = aws_kms_key.eks.arn
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.cluster_name}-${each.key}" })
  }
}

resource "aws_eks_node_group" "system" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "system"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.private_subnet_ids
  capacity_type   = "ON_DEMAND"
  instance_types  = var.system_instance_types
  ami_type        = "AL2023_x86_64_STANDARD"

  scaling_config {
    min_size     = var.system_node_count
    desired_size = var.system_node_count
    max_size     = var.system_node_count + 1
  }

  launch_template {
    id      = aws_launch_template.node["system"].id
    version = aws_launch_template.node["system"].latest_version
  }

  labels = { "workload" = "system" }

  update_config {
    max_unavailable = 1
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}

resource "aws_eks_node_group" "gpu_spot" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "gpu-spot"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.private_subnet_ids
  capacity_type   = "SPOT"
  instance_types  = var.gpu_instance_types
  ami_type        = "AL2023_x86_64_NVIDIA" # NVIDIA driver + container toolkit preinstalled

  scaling_config {
    min_size     = var.gpu_spot_min
    desired_size = max(var.gpu_spot_min, 1)
    max_size     = var.gpu_spot_max
  }

  launch_template {
    id      = aws_launch_template.node["gpu"].id
    version = aws_launch_template.node["gpu"].latest_version
  }

  labels = merge(local.gpu_labels, { "roadmap.ai/capacity-type" = "spot" })

  taint {
    key    = local.gpu_taint.key
    value  = local.gpu_taint.value
    effect = local.gpu_taint.effect
  }

  update_config {
    max_unavailable_percentage = 33
  }

  # The autoscaler owns the size once the group exists.
  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}

resource "aws_eks_node_group" "gpu_on_demand" {
  count = var.gpu_on_demand_baseline > 0 ? 1 : 0

  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "gpu-on-demand"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.private_subnet_ids
  capacity_type   = "ON_DEMAND"
  instance_types  = [var.gpu_on_demand_instance_type]
  ami_type        = "AL2023_x86_64_NVIDIA"

  scaling_config {
    min_size     = var.gpu_on_demand_baseline
    desired_size = var.gpu_on_demand_baseline
    max_size     = var.gpu_on_demand_baseline
  }

  launch_template {
    id      = aws_launch_template.node["gpu"].id
    version = aws_launch_template.node["gpu"].latest_version
  }

  labels = merge(local.gpu_labels, { "roadmap.ai/capacity-type" = "on-demand" })

  taint {
    key    = local.gpu_taint.key
    value  = local.gpu_taint.value
    effect = local.gpu_taint.effect
  }

  update_config {
    max_unavailable = 1
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}

# Scale from zero: the autoscaler reads a group's labels, taints and GPUs from these ASG tags
# when it has no live node to look at (managed node groups do not copy them to the ASG).
locals {
  gpu_spot_asg = aws_eks_node_group.gpu_spot.resources[0].autoscaling_groups[0].name
  gpu_spot_template_tags = {
    "k8s.io/cluster-autoscaler/node-template/label/workload"                 = "gpu-inference"
    "k8s.io/cluster-autoscaler/node-template/label/roadmap.ai/capacity-type" = "spot"
    "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"           = "true:NoSchedule"
    "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"       = "1"
  }
}

resource "aws_autoscaling_group_tag" "gpu_spot_template" {
  for_each = local.gpu_spot_template_tags

  autoscaling_group_name = local.gpu_spot_asg

  tag {
    key                 = each.key
    value               = each.value
    propagate_at_launch = false
  }
}

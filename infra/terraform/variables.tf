variable "region" {
  description = "AWS region of the cluster."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "The region must look like us-east-1."
  }
}

variable "cluster_name" {
  description = "Name of the EKS cluster (also the prefix of its IAM roles)."
  type        = string
  default     = "ai-roadmap"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,38}$", var.cluster_name))
    error_message = "The cluster name must start with a letter and hold 2-39 letters, digits or dashes."
  }
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.31"

  validation {
    condition     = can(regex("^1\\.(2[89]|3[0-9])$", var.kubernetes_version))
    error_message = "The Kubernetes version must be 1.28 or later, written like 1.31."
  }
}

variable "vpc_id" {
  description = "VPC the cluster runs in."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "The VPC id must look like vpc-0123abcd."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets for the control plane and the nodes, in at least two Availability Zones (Spot capacity is spread over them)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2 && alltrue([for s in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "Give at least two subnet ids, each like subnet-0123abcd."
  }
}

variable "endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public API endpoint; empty keeps the endpoint private."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.endpoint_public_access_cidrs : can(cidrnetmask(c)) && c != "0.0.0.0/0"])
    error_message = "Each entry must be a CIDR block, and 0.0.0.0/0 is not allowed."
  }
}

variable "system_instance_types" {
  description = "On-demand instance types of the system node group (CoreDNS, cluster-autoscaler, termination handler)."
  type        = list(string)
  default     = ["m6i.large"]

  validation {
    condition     = length(var.system_instance_types) >= 1
    error_message = "Give at least one system instance type."
  }
}

variable "system_node_count" {
  description = "Nodes of the system node group."
  type        = number
  default     = 2

  validation {
    condition     = var.system_node_count >= 1 && var.system_node_count <= 10 && floor(var.system_node_count) == var.system_node_count
    error_message = "The system node count must be a whole number from 1 to 10."
  }
}

variable "gpu_instance_types" {
  description = "GPU instance types of the Spot node group: several single-GPU types, so a reclaim of one Spot pool leaves others to buy from."
  type        = list(string)
  default     = ["g4dn.xlarge", "g5.xlarge", "g6.xlarge"]

  validation {
    condition     = length(var.gpu_instance_types) >= 2 && alltrue([for t in var.gpu_instance_types : can(regex("^(g4dn|g5|g6|g6e)\\.[0-9]*x?large$", t))])
    error_message = "Give at least two NVIDIA GPU instance types of the g4dn, g5, g6 or g6e families."
  }
}

variable "gpu_spot_min" {
  description = "Fewest Spot GPU nodes (0 lets the group scale to zero at night)."
  type        = number
  default     = 0

  validation {
    condition     = var.gpu_spot_min >= 0 && floor(var.gpu_spot_min) == var.gpu_spot_min
    error_message = "The gpu_spot_min must be a whole number, 0 or more."
  }
}

variable "gpu_spot_max" {
  description = "Most Spot GPU nodes the autoscaler may buy."
  type        = number
  default     = 20

  validation {
    condition     = var.gpu_spot_max >= 1 && var.gpu_spot_max <= 200 && floor(var.gpu_spot_max) == var.gpu_spot_max
    error_message = "The gpu_spot_max must be a whole number from 1 to 200."
  }
}

variable "gpu_on_demand_baseline" {
  description = "On-demand GPU nodes kept always on, so a Spot reclaim never takes the whole service."
  type        = number
  default     = 1

  validation {
    condition     = var.gpu_on_demand_baseline >= 0 && var.gpu_on_demand_baseline <= 10 && floor(var.gpu_on_demand_baseline) == var.gpu_on_demand_baseline
    error_message = "The gpu_on_demand_baseline must be a whole number from 0 to 10."
  }
}

variable "gpu_on_demand_instance_type" {
  description = "Instance type of the on-demand GPU baseline."
  type        = string
  default     = "g4dn.xlarge"

  validation {
    condition     = can(regex("^(g4dn|g5|g6|g6e)\\.[0-9]*x?large$", var.gpu_on_demand_instance_type))
    error_message = "The on-demand GPU type must be of the g4dn, g5, g6 or g6e families."
  }
}

variable "gpu_disk_gib" {
  description = "Root volume of a GPU node (the NVIDIA AMI and the serving image)."
  type        = number
  default     = 100

  validation {
    condition     = var.gpu_disk_gib >= 50 && var.gpu_disk_gib <= 1000
    error_message = "The gpu_disk_gib must be from 50 to 1000."
  }
}

variable "serving_namespace" {
  description = "Namespace of the image service (infra/k8s)."
  type        = string
  default     = "roadmap"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.serving_namespace))
    error_message = "The namespace must be a DNS label."
  }
}

variable "serving_service_account" {
  description = "Service account of the image service pods (bound to the serving IAM role)."
  type        = string
  default     = "roadmap-serve-images"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.serving_service_account))
    error_message = "The service account name must be a DNS label."
  }
}

variable "model_bucket_arn" {
  description = "S3 bucket the serving pods read their model folders from (read-only)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.model_bucket_arn))
    error_message = "The model bucket must be an S3 bucket ARN like arn:aws:s3:::my-models."
  }
}

variable "log_retention_days" {
  description = "Retention of the control plane's CloudWatch logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of CloudWatch's retention periods (1, 3, 5, 7, 14, 30, ..., 365, ...)."
  }
}

variable "cluster_autoscaler_chart_version" {
  description = "Version of the cluster-autoscaler Helm chart."
  type        = string
  default     = "9.43.2"
}

variable "node_termination_handler_chart_version" {
  description = "Version of the aws-node-termination-handler Helm chart."
  type        = string
  default     = "0.21.0"
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default = {
    project = "ai-roadmap"
    stage   = "s5.infra"
  }
}

//! Container, cluster and cloud rules: commands that destroy infrastructure.
//!
//! Why this exists: `docker system prune -a`, `kubectl delete ns prod`,
//! `aws s3 rm s3://b --recursive` or `terraform destroy -auto-approve` wipe
//! data and services that live elsewhere but are just as gone. Only the
//! sweeping or irreversible forms are flagged; deleting one named object is
//! left to the tool's own prompts.

use crate::safety::cmd::Cmd;
use crate::safety::command::opts;
use crate::safety::rules::kit::{Cx, Out};
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;

const CAT: &str = "cloud";

pub(crate) const DOCKER_PRUNE_ALL: Rule = rule(
    "docker.system_prune_all",
    High,
    CAT,
    "deletes all unused Docker images, containers and networks (and volumes with --volumes)",
);
pub(crate) const DOCKER_VOLUME_PRUNE: Rule = rule(
    "docker.volume_prune",
    High,
    CAT,
    "deletes Docker volumes and the data stored in them",
);
pub(crate) const DOCKER_RM_ALL: Rule = rule(
    "docker.rm_all",
    High,
    CAT,
    "force-removes every container or image on the machine",
);
pub(crate) const DOCKER_HOST_ROOT: Rule = rule(
    "docker.host_root",
    High,
    CAT,
    "runs a container with full access to the host (privileged, or the host's root mounted)",
);
pub(crate) const K8S_DELETE_ALL_NAMESPACES: Rule = rule(
    "k8s.delete_all_namespaces",
    Critical,
    CAT,
    "deletes resources in every namespace of the Kubernetes cluster",
);
pub(crate) const K8S_DELETE_ALL: Rule = rule(
    "k8s.delete_all",
    High,
    CAT,
    "deletes every resource of that kind in the namespace",
);
pub(crate) const K8S_DELETE_NAMESPACE: Rule = rule(
    "k8s.delete_namespace",
    High,
    CAT,
    "deletes a Kubernetes namespace and everything running in it",
);
pub(crate) const S3_RM_RECURSIVE: Rule = rule(
    "aws.s3_rm_recursive",
    High,
    CAT,
    "deletes every object under an S3 path",
);
pub(crate) const S3_RB_FORCE: Rule = rule(
    "aws.s3_rb_force",
    High,
    CAT,
    "deletes an S3 bucket together with everything in it",
);
pub(crate) const CLOUD_DESTROY: Rule = rule(
    "cloud.destroy_resource",
    High,
    CAT,
    "permanently deletes cloud resources (servers, databases, projects or resource groups)",
);
pub(crate) const TERRAFORM_DESTROY: Rule = rule(
    "iac.destroy",
    High,
    CAT,
    "destroys all the infrastructure managed by this configuration",
);
pub(crate) const HELM_UNINSTALL_ALL: Rule = rule(
    "k8s.helm_uninstall",
    Moderate,
    CAT,
    "uninstalls a Helm release and its Kubernetes resources",
);

pub(crate) const RULES: &[Rule] = &[
    DOCKER_PRUNE_ALL,
    DOCKER_VOLUME_PRUNE,
    DOCKER_RM_ALL,
    DOCKER_HOST_ROOT,
    K8S_DELETE_ALL_NAMESPACES,
    K8S_DELETE_ALL,
    K8S_DELETE_NAMESPACE,
    S3_RM_RECURSIVE,
    S3_RB_FORCE,
    CLOUD_DESTROY,
    TERRAFORM_DESTROY,
    HELM_UNINSTALL_ALL,
];

fn subs_list_everything(cx: &Cx, c: &Cmd) -> bool {
    c.args.iter().any(|w| {
        w.subs.iter().any(|s| {
            cx.cmds_in(s.cmds.clone()).any(|inner| {
                matches!(inner.name.as_str(), "docker" | "podman")
                    && matches!(
                        inner.sub(0),
                        Some("ps" | "images" | "volume" | "container" | "image")
                    )
                    && inner.arg_texts().any(|t| {
                        t.starts_with('-') && !t.starts_with("--") && t.contains('q')
                            || t == "--quiet"
                    })
            })
        })
    })
}

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    let name = c.name.as_str();
    match name {
        "docker" | "podman" | "nerdctl" => {
            let o = opts(
                &c.args,
                "vepuwlc",
                &[
                    "volume", "env", "publish", "user", "workdir", "label", "name", "network",
                    "mount", "filter", "format",
                ],
            );
            let ops: Vec<&str> = o.operands.iter().map(|w| w.text.as_str()).collect();
            let all = o.has('a') || o.has_long("all");
            match ops.as_slice() {
                ["system", "prune", ..] if all || o.has_long("volumes") => {
                    out.add(&DOCKER_PRUNE_ALL, c.span.clone())
                }
                ["volume", "prune", ..] => out.add(&DOCKER_VOLUME_PRUNE, c.span.clone()),
                ["rm" | "rmi", ..] | ["container" | "image" | "volume", "rm", ..]
                    if subs_list_everything(cx, c) =>
                {
                    out.add(&DOCKER_RM_ALL, c.span.clone());
                }
                ["run" | "create", ..] => {
                    let host_root = o.has_long("privileged")
                        || o.values
                            .iter()
                            .any(|(k, v)| *k == 'v' && v.starts_with("/:"))
                        || o.long
                            .iter()
                            .any(|(l, v)| *l == "volume" && v.is_some_and(|v| v.starts_with("/:")))
                        || o.long
                            .iter()
                            .any(|(l, v)| *l == "pid" && *v == Some("host"));
                    if host_root {
                        out.add(&DOCKER_HOST_ROOT, c.span.clone());
                    }
                }
                _ => {}
            }
        }
        "kubectl" | "oc" | "k" => {
            let o = opts(
                &c.args,
                "nflc",
                &[
                    "namespace",
                    "filename",
                    "selector",
                    "context",
                    "output",
                    "kubeconfig",
                ],
            );
            let ops: Vec<&str> = o.operands.iter().map(|w| w.text.as_str()).collect();
            if ops.first() != Some(&"delete") {
                return;
            }
            let all = o.has_long("all");
            let all_ns = o.has('A') || o.has_long("all-namespaces");
            if all && all_ns {
                out.add(&K8S_DELETE_ALL_NAMESPACES, c.span.clone());
            } else if all {
                out.add(&K8S_DELETE_ALL, c.span.clone());
            }
            let kind = ops.get(1).copied().unwrap_or("");
            if matches!(kind, "ns" | "namespace" | "namespaces")
                || kind.starts_with("namespace/")
                || kind.starts_with("ns/")
            {
                out.add(&K8S_DELETE_NAMESPACE, c.span.clone());
            }
        }
        "helm" => {
            if matches!(c.sub(0), Some("uninstall" | "delete" | "del" | "un")) {
                out.add(&HELM_UNINSTALL_ALL, c.span.clone());
            }
        }
        "aws" => {
            let ops: Vec<&str> = c.arg_texts().filter(|t| !t.starts_with('-')).collect();
            let has = |x: &str| c.arg_texts().any(|t| t == x);
            match ops.as_slice() {
                ["s3", "rm", ..] if has("--recursive") => out.add(&S3_RM_RECURSIVE, c.span.clone()),
                ["s3", "rb", ..] if has("--force") => out.add(&S3_RB_FORCE, c.span.clone()),
                ["ec2", "terminate-instances", ..]
                | ["rds", "delete-db-instance" | "delete-db-cluster", ..]
                | ["cloudformation", "delete-stack", ..]
                | ["dynamodb", "delete-table", ..]
                | ["eks", "delete-cluster", ..]
                | ["organizations", "close-account", ..] => out.add(&CLOUD_DESTROY, c.span.clone()),
                _ => {}
            }
        }
        "gsutil" => {
            let o = opts(&c.args, "", &[]);
            let ops: Vec<&str> = o.operands.iter().map(|w| w.text.as_str()).collect();
            if ops.first() == Some(&"rm") && (o.has('r') || o.has('R')) {
                out.add(&S3_RM_RECURSIVE, c.span.clone());
            }
        }
        "gcloud" => {
            let ops: Vec<&str> = c.arg_texts().filter(|t| !t.starts_with('-')).collect();
            if matches!(
                ops.as_slice(),
                ["projects", "delete", ..]
                    | ["sql", "instances", "delete", ..]
                    | ["container", "clusters", "delete", ..]
            ) {
                out.add(&CLOUD_DESTROY, c.span.clone());
            }
        }
        "az" => {
            let ops: Vec<&str> = c.arg_texts().filter(|t| !t.starts_with('-')).collect();
            if matches!(ops.as_slice(), ["group", "delete", ..]) {
                out.add(&CLOUD_DESTROY, c.span.clone());
            }
        }
        "terraform" | "tofu" | "terragrunt" | "pulumi" | "cdk" | "cdktf" => {
            let ops: Vec<&str> = c.arg_texts().filter(|t| !t.starts_with('-')).collect();
            let destroy = ops.first() == Some(&"destroy")
                || (ops.first() == Some(&"apply")
                    && c.arg_texts().any(|t| t == "-destroy" || t == "--destroy"))
                || (ops.first() == Some(&"run-all") && ops.get(1) == Some(&"destroy"));
            if destroy {
                out.add(&TERRAFORM_DESTROY, c.span.clone());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};

    #[test]
    fn docker_system_prune_all() {
        assert_flags("docker system prune -a", "docker.system_prune_all");
        assert_flags(
            "docker system prune --all --volumes -f",
            "docker.system_prune_all",
        );
        assert_not_flags("docker system prune", "docker.system_prune_all");
    }

    #[test]
    fn docker_volume_prune() {
        assert_flags("docker volume prune -f", "docker.volume_prune");
        assert_not_flags("docker volume ls", "docker.volume_prune");
    }

    #[test]
    fn docker_rm_all() {
        assert_flags("docker rm -f $(docker ps -aq)", "docker.rm_all");
        assert_flags("docker rmi $(docker images -q)", "docker.rm_all");
        assert_not_flags("docker rm my_container", "docker.rm_all");
    }

    #[test]
    fn docker_host_root() {
        assert_flags("docker run --privileged -it ubuntu", "docker.host_root");
        assert_flags("docker run -v /:/host -it alpine", "docker.host_root");
        assert_not_flags("docker run -v $(pwd):/app node", "docker.host_root");
    }

    #[test]
    fn k8s_delete_all_namespaces() {
        assert_flags("kubectl delete pods --all -A", "k8s.delete_all_namespaces");
        assert_not_flags("kubectl get pods -A", "k8s.delete_all_namespaces");
    }

    #[test]
    fn k8s_delete_all() {
        assert_flags("kubectl delete deployments --all -n prod", "k8s.delete_all");
        assert_not_flags("kubectl delete pod web-1", "k8s.delete_all");
    }

    #[test]
    fn k8s_delete_namespace() {
        assert_flags("kubectl delete ns prod", "k8s.delete_namespace");
        assert_flags("kubectl delete namespace/prod", "k8s.delete_namespace");
        assert_not_flags("kubectl get ns", "k8s.delete_namespace");
    }

    #[test]
    fn s3_rm_recursive() {
        assert_flags("aws s3 rm s3://b --recursive", "aws.s3_rm_recursive");
        assert_flags("gsutil rm -r gs://bucket", "aws.s3_rm_recursive");
        assert_not_flags("aws s3 rm s3://b/file.txt", "aws.s3_rm_recursive");
    }

    #[test]
    fn s3_rb_force() {
        assert_flags("aws s3 rb s3://b --force", "aws.s3_rb_force");
        assert_not_flags("aws s3 rb s3://b", "aws.s3_rb_force");
    }

    #[test]
    fn cloud_destroy_resource() {
        assert_flags(
            "aws ec2 terminate-instances --instance-ids i-1",
            "cloud.destroy_resource",
        );
        assert_flags(
            "gcloud projects delete my-project",
            "cloud.destroy_resource",
        );
        assert_flags("az group delete --name rg", "cloud.destroy_resource");
        assert_not_flags("aws ec2 describe-instances", "cloud.destroy_resource");
    }

    #[test]
    fn iac_destroy() {
        assert_flags("terraform destroy -auto-approve", "iac.destroy");
        assert_flags("terraform apply -destroy", "iac.destroy");
        assert_flags("pulumi destroy --yes", "iac.destroy");
        assert_not_flags("terraform plan", "iac.destroy");
    }

    #[test]
    fn helm_uninstall() {
        assert_flags("helm uninstall web", "k8s.helm_uninstall");
        assert_not_flags("helm list", "k8s.helm_uninstall");
    }
}

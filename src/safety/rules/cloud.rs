//! Container, cluster and cloud rules: commands that destroy infrastructure.
//!
//! Why this exists: `docker system prune -a`, `kubectl delete ns prod`,
//! `aws s3 rm s3://b --recursive` or `terraform destroy -auto-approve` wipe
//! data and services that live elsewhere but are just as gone. Only the
//! sweeping or irreversible forms are flagged; deleting one named object is
//! left to the tool's own prompts.

use crate::safety::lower::opts;
use crate::safety::rules::kit::{Cx, Out};
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::Cmd;

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
    "deletes every resource of a kind in every namespace of the Kubernetes cluster",
);
pub(crate) const K8S_DELETE_EVERY_NAMESPACE: Rule = rule(
    "k8s.delete_every_namespace",
    Critical,
    CAT,
    "deletes every namespace of the Kubernetes cluster and everything running in them",
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
    Critical,
    CAT,
    "deletes an S3 bucket together with everything in it",
);
pub(crate) const CLOUD_DESTROY: Rule = rule(
    "cloud.destroy_resource",
    High,
    CAT,
    "permanently deletes a cloud resource (a server, a database, a cluster or a stack)",
);
pub(crate) const BUCKET_WIPE: Rule = rule(
    "cloud.bucket_wipe",
    Critical,
    CAT,
    "deletes every object in a whole storage bucket; there is no undo",
);
pub(crate) const DELETE_PROJECT: Rule = rule(
    "cloud.delete_project",
    Critical,
    CAT,
    "deletes a whole cloud project or resource group with every resource in it",
);
pub(crate) const DESTROY_NOW: Rule = rule(
    "iac.destroy_unattended",
    Critical,
    CAT,
    "destroys all the infrastructure this configuration manages without asking first",
);
pub(crate) const TERRAFORM_DESTROY: Rule = rule(
    "iac.destroy",
    High,
    CAT,
    "destroys all the infrastructure this configuration manages, once you confirm",
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
    K8S_DELETE_EVERY_NAMESPACE,
    K8S_DELETE_ALL,
    K8S_DELETE_NAMESPACE,
    S3_RM_RECURSIVE,
    S3_RB_FORCE,
    CLOUD_DESTROY,
    BUCKET_WIPE,
    DELETE_PROJECT,
    DESTROY_NOW,
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
        "kubectl" | "oc" | "k" => check_kubectl(c, cx, out),
        "helm" => {
            if matches!(c.sub(0), Some("uninstall" | "delete" | "del" | "un")) {
                out.add(&HELM_UNINSTALL_ALL, c.span.clone());
            }
        }
        "aws" | "gsutil" | "gcloud" | "az" => check_cloud_cli(c, out),
        "terraform" | "tofu" | "terragrunt" | "pulumi" | "cdk" | "cdktf" => {
            let ops: Vec<&str> = c.arg_texts().filter(|t| !t.starts_with('-')).collect();
            let destroy = ops.first() == Some(&"destroy")
                || (ops.first() == Some(&"apply")
                    && c.arg_texts().any(|t| t == "-destroy" || t == "--destroy"))
                || (ops.first() == Some(&"run-all") && ops.get(1) == Some(&"destroy"));
            let unattended = c.arg_texts().any(|t| {
                matches!(
                    t.trim_start_matches('-'),
                    "auto-approve"
                        | "auto-approve=true"
                        | "yes"
                        | "y"
                        | "force"
                        | "f"
                        | "terragrunt-non-interactive"
                        | "non-interactive"
                )
            });
            let targeted = c
                .arg_texts()
                .any(|t| t.trim_start_matches('-').starts_with("target"));
            if destroy && unattended && !targeted {
                out.add(&DESTROY_NOW, c.span.clone());
            } else if destroy && targeted {
                let note = "destroys the targeted resources of this configuration".to_string();
                out.add_note(&TERRAFORM_DESTROY, c.span.clone(), note);
            } else if destroy {
                out.add(&TERRAFORM_DESTROY, c.span.clone());
            }
        }
        _ => {}
    }
}

/// `kubectl delete`: every namespace, every resource of a kind in every
/// namespace, every resource of a kind in one, or one namespace.
fn check_kubectl(c: &Cmd, cx: &Cx, out: &mut Out) {
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
    let lists_namespaces = |k: &Cmd| {
        matches!(k.name.as_str(), "kubectl" | "oc" | "k")
            && k.sub(0) == Some("get")
            && matches!(k.sub(1), Some("ns" | "namespace" | "namespaces"))
    };
    let all = o.has_long("all");
    let all_ns = o.has('A') || o.has_long("all-namespaces");
    let kind = ops.get(1).copied().unwrap_or("");
    let namespaces = matches!(kind, "ns" | "namespace" | "namespaces");
    let fed = c.input == crate::safety::unwrapped::Input::Unknown
        && cx.before_in_pipeline(c.index).any(lists_namespaces)
        || c.args.iter().any(|w| {
            w.subs
                .iter()
                .any(|s| cx.cmds_in(s.cmds.clone()).any(lists_namespaces))
        });
    if namespaces && all || fed {
        out.add(&K8S_DELETE_EVERY_NAMESPACE, c.span.clone());
    } else if all && all_ns {
        let note = format!(
            "deletes every {} in every namespace of the Kubernetes cluster",
            kind_words(kind)
        );
        out.add_note(&K8S_DELETE_ALL_NAMESPACES, c.span.clone(), note);
    } else if all {
        let ns = o
            .value('n')
            .or(o.long_value("namespace"))
            .map_or("the current namespace".to_string(), |n| {
                format!("the namespace {n}")
            });
        let note = format!("deletes every {} in {ns}", kind_words(kind));
        out.add_note(&K8S_DELETE_ALL, c.span.clone(), note);
    } else if namespaces || kind.starts_with("namespace/") || kind.starts_with("ns/") {
        out.add(&K8S_DELETE_NAMESPACE, c.span.clone());
    }
}

/// `pods` -> "pod", `all` -> "resource".
fn kind_words(kind: &str) -> String {
    match kind {
        "" | "all" => "resource".to_string(),
        k => k
            .split(',')
            .next()
            .unwrap_or(k)
            .trim_end_matches('s')
            .to_string(),
    }
}

/// Whether a bucket URL names the whole bucket (`s3://b`, `gs://b/`,
/// `gs://b/**`) rather than a folder in it.
fn whole_bucket(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let path = rest.split_once('/').map_or("", |(_, p)| p);
    matches!(path, "" | "*" | "**")
}

/// `aws`, `gsutil`, `gcloud` and `az`: buckets, projects, resource groups
/// and single resources.
fn check_cloud_cli(c: &Cmd, out: &mut Out) {
    let ops: Vec<&str> = c.arg_texts().filter(|t| !t.starts_with('-')).collect();
    let has = |x: &str| c.arg_texts().any(|t| t == x);
    let recursive = has("--recursive") || has("-r") || has("-R");
    let bucket = ops.iter().find(|t| t.contains("://")).copied();
    let rule = match (c.name.as_str(), ops.as_slice()) {
        ("aws", ["s3", "rb", ..]) if has("--force") => &S3_RB_FORCE,
        ("aws", ["s3", "rm", ..]) | ("gsutil", ["rm", ..]) | ("gcloud", ["storage", "rm", ..])
            if recursive =>
        {
            if bucket.is_some_and(whole_bucket) {
                &BUCKET_WIPE
            } else {
                &S3_RM_RECURSIVE
            }
        }
        ("gcloud", ["projects", "delete", ..]) | ("az", ["group", "delete", ..]) => &DELETE_PROJECT,
        ("aws", ["organizations", "close-account", ..]) => &DELETE_PROJECT,
        ("aws", ["ec2", "terminate-instances", ..])
        | ("aws", ["rds", "delete-db-instance" | "delete-db-cluster", ..])
        | ("aws", ["cloudformation", "delete-stack", ..])
        | ("aws", ["dynamodb", "delete-table", ..])
        | ("aws", ["eks", "delete-cluster", ..])
        | ("gcloud", ["sql", "instances", "delete", ..])
        | ("gcloud", ["container", "clusters", "delete", ..]) => &CLOUD_DESTROY,
        _ => return,
    };
    out.add(rule, c.span.clone());
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
    fn k8s_delete_every_namespace() {
        assert_flags("kubectl delete ns --all", "k8s.delete_every_namespace");
        assert_flags(
            "kubectl get ns -o name | xargs kubectl delete",
            "k8s.delete_every_namespace",
        );
        assert_flags(
            "kubectl delete $(kubectl get ns -o name)",
            "k8s.delete_every_namespace",
        );
        assert_not_flags("kubectl get ns", "k8s.delete_every_namespace");
        assert_not_flags("kubectl delete ns dev", "k8s.delete_every_namespace");
        assert_not_flags(
            "kubectl delete pods --all -n dev",
            "k8s.delete_every_namespace",
        );
    }

    #[test]
    fn bucket_wipe() {
        assert_flags("aws s3 rm s3://logs --recursive", "cloud.bucket_wipe");
        assert_flags("gsutil -m rm -r gs://assets", "cloud.bucket_wipe");
        assert_flags(
            "gcloud storage rm --recursive gs://data/**",
            "cloud.bucket_wipe",
        );
        assert_not_flags("aws s3 rm s3://logs/2023/ --recursive", "cloud.bucket_wipe");
        assert_not_flags("aws s3 ls s3://logs --recursive", "cloud.bucket_wipe");
    }

    #[test]
    fn delete_project() {
        assert_flags(
            "gcloud projects delete acme --quiet",
            "cloud.delete_project",
        );
        assert_flags("az group delete -n rg -y", "cloud.delete_project");
        assert_not_flags("gcloud projects list", "cloud.delete_project");
        assert_not_flags("az group show -n rg", "cloud.delete_project");
    }

    #[test]
    fn iac_destroy_unattended() {
        assert_flags("terraform destroy -auto-approve", "iac.destroy_unattended");
        assert_flags("pulumi destroy --yes", "iac.destroy_unattended");
        assert_flags(
            "terragrunt run-all destroy --terragrunt-non-interactive",
            "iac.destroy_unattended",
        );
        assert_not_flags("terraform destroy", "iac.destroy_unattended");
        assert_not_flags(
            "terraform destroy -target=aws_instance.x -auto-approve",
            "iac.destroy_unattended",
        );
        assert_not_flags("terraform plan", "iac.destroy_unattended");
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
        assert_flags("aws s3 rm s3://b/logs/ --recursive", "aws.s3_rm_recursive");
        assert_flags("gsutil rm -r gs://bucket/tmp/", "aws.s3_rm_recursive");
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
        assert_flags("gcloud sql instances delete db1", "cloud.destroy_resource");
        assert_not_flags("aws ec2 describe-instances", "cloud.destroy_resource");
    }

    #[test]
    fn iac_destroy() {
        assert_flags("terraform destroy", "iac.destroy");
        assert_flags("terraform apply -destroy", "iac.destroy");
        assert_flags("pulumi destroy", "iac.destroy");
        assert_not_flags("terraform plan", "iac.destroy");
    }

    #[test]
    fn helm_uninstall() {
        assert_flags("helm uninstall web", "k8s.helm_uninstall");
        assert_not_flags("helm list", "k8s.helm_uninstall");
    }
}

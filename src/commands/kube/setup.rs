//! `clauderon kube setup`: prepares a namespace for sessions.

use crate::backend::kubernetes::{Kubectl, classify, setup};
use crate::commands::{Ctx, print_or_execute};
use crate::error::Result;
use crate::plan::{Plan, Step};

pub fn run(
    ctx: &Ctx,
    context: Option<String>,
    namespace: Option<String>,
    dry_run: bool,
) -> Result<()> {
    // The same resolution as create's: flags, then [kubernetes], then kubectl.
    let context = super::context::context(ctx, context.as_deref(), dry_run)?;
    let namespace = super::context::namespace(ctx, namespace.as_deref())?;
    let kubectl = Kubectl::new(&context, &namespace);
    let mut plan = Plan::default();
    plan.push(Step::run_cmd(setup::apply_namespace(&kubectl), classify));
    print_or_execute("kube setup", &plan, dry_run)?;
    if !dry_run {
        println!(
            "Namespace {namespace} (context {context}) is ready: Pod Security `restricted` is enforced there."
        );
    }
    Ok(())
}

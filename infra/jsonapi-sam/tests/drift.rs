//! The committed `template.yaml` is exactly what `jsonapi-local template` prints for the
//! example domain: the template follows the configuration and the code, never a hand edit.

use std::path::Path;

#[test]
fn the_committed_template_is_the_example_domains_generated_template() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let committed = std::fs::read_to_string(root.join("template.yaml")).expect("template.yaml");
    let generated = jsonapi_sam::template(jsonapi_sam::Configuration {
        file: jsonapi_config::EXAMPLE_DOMAIN_FILE,
        text: jsonapi_config::EXAMPLE_DOMAIN,
        schema: &jsonapi_config::example_domain(),
    })
    .expect("the example domain deploys");
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "template.yaml differs from the generated template from line {}: regenerate it with \
             `cargo run -p jsonapi-local -- template > template.yaml`\n  committed: {:?}\n  \
             generated: {:?}",
            line + 1,
            committed.lines().nth(line),
            generated.lines().nth(line),
        );
    }
}

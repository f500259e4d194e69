use gateway_core::gateway;

struct EmptyParameter;

#[gateway(namespace = "/workspaces/{}")]
impl EmptyParameter {}

struct Unbalanced;

#[gateway(namespace = "/workspaces/{workspace")]
impl Unbalanced {}

struct PartOfASegment;

#[gateway(namespace = "/workspaces/ws-{id}")]
impl PartOfASegment {}

struct Twice;

#[gateway(namespace = "/orgs/{id}/teams/{id}")]
impl Twice {}

struct PathOnDynamic;

#[gateway(namespace = "/workspaces/{workspace}", path = "/ws")]
impl PathOnDynamic {}

struct KeepEmptyOnFixed;

#[gateway(namespace = "/chat", keep_empty = true)]
impl KeepEmptyOnFixed {}

struct NoNamespaces;

#[gateway(namespace = "/workspaces/{workspace}", max_namespaces = 0)]
impl NoNamespaces {}

struct BadRegex;

#[gateway(namespace_regex = "^/workspaces/(?<workspace>[a-z")]
impl BadRegex {}

struct BothNamespaces;

#[gateway(namespace = "/w", namespace_regex = "^/w/[a-z]+$")]
impl BothNamespaces {}

fn main() {}

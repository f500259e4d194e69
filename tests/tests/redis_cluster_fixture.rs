//! The Redis Cluster fixture itself: three masters come up, a killed node is noticed, and the
//! cluster is whole again once it restarts.

use gateway_tests::redis_cluster::RedisCluster;

async fn assert_all_ok(cluster: &RedisCluster) {
    for i in 0..3 {
        assert_eq!(
            cluster.cluster_state(i).await.as_deref(),
            Some("ok"),
            "node {i}"
        );
    }
}

#[tokio::test]
async fn a_cluster_starts_and_heals_after_a_node_restart() {
    let mut cluster = RedisCluster::start().await;
    assert_eq!(cluster.urls().len(), 3);
    assert_eq!(cluster.urls_joined().split(',').count(), 3);
    assert_all_ok(&cluster).await;

    cluster.kill(1).await;
    assert_eq!(cluster.cluster_state(1).await, None, "node 1 is gone");
    cluster.wait_failed(1).await;
    for i in [0, 2] {
        assert_eq!(
            cluster.cluster_state(i).await.as_deref(),
            Some("fail"),
            "node {i}"
        );
    }

    cluster.restart(1).await;
    assert_all_ok(&cluster).await;
}

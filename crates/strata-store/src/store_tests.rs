use super::*;

fn one_file_tar(name: &str, content: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, name, content).expect("append");
    b.into_inner().expect("tar")
}

fn tmp_entries(store: &Store) -> usize {
    fs::read_dir(store.tmp_dir()).expect("tmp").count()
}

#[test]
fn staged_layers_are_invisible_until_committed_parents_first() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(dir.path()).expect("store");
    let (a, b) = (one_file_tar("a", b"a"), one_file_tar("b", b"b"));
    let a_id = Digest::sha256_of(&a);
    let a_chain = layer::chain_id(None, &a_id);
    // The child is staged first, as a parallel pull may finish it first.
    let child = store
        .stage_layer(Some(&a_chain), &b[..], Some(&Digest::sha256_of(&b)))
        .expect("stage child");
    let parent = store.stage_layer(None, &a[..], Some(&a_id)).expect("stage");
    assert!(!store.layer_exists(&a_chain));
    assert!(!store.layer_exists(&child.meta().chain_id));

    let child_chain = child.meta().chain_id.clone();
    let early = store.commit_layer(child);
    assert!(early.is_err(), "a child before its parent is refused");
    assert!(!store.layer_exists(&child_chain));

    let meta = store.commit_layer(parent).expect("commit parent");
    assert_eq!(meta.chain_id, a_chain);
    assert!(store.layer_diff_dir(&a_chain).join("a").is_file());
    assert_eq!(
        fs::read(store.layer_tar_path(&a_chain)).expect("tar"),
        a,
        "the exact tar is kept"
    );
    let again = store
        .stage_layer(Some(&a_chain), &b[..], None)
        .expect("stage again");
    assert_eq!(
        store.commit_layer(again).expect("commit").chain_id,
        child_chain
    );
    assert_eq!(tmp_entries(&store), 0, "staging is cleaned up");
}

#[test]
fn a_wrong_diff_id_or_a_dropped_stage_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(dir.path()).expect("store");
    let a = one_file_tar("a", b"a");
    let wrong = Digest::sha256_of(b"something else");
    assert!(matches!(
        store.stage_layer(None, &a[..], Some(&wrong)),
        Err(StoreError::DiffIdMismatch { .. })
    ));
    let staged = store.stage_layer(None, &a[..], None).expect("stage");
    drop(staged);
    assert_eq!(tmp_entries(&store), 0);
    assert_eq!(fs::read_dir(store.layers_dir()).expect("layers").count(), 0);
}

/// A staged tree and the tar made from it register as the same layer as the tar alone.
#[test]
fn a_staged_tree_is_moved_into_the_layer() {
    let root = tempfile::tempdir().expect("root");
    let store = Store::open(root.path()).expect("store");
    let tree = store.staging().expect("staging").keep();
    fs::create_dir(tree.join("app")).expect("dir");
    fs::write(tree.join("app/file"), b"content").expect("file");
    let tar_path = store.tmp_dir().join("tree.tar");
    let file = fs::File::create(&tar_path).expect("tar");
    crate::layer::pack::tar_upper_dir(&tree, &[], file).expect("pack");
    let bytes = fs::read(&tar_path).expect("read tar");
    let diff_id: Digest = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    )
    .parse()
    .expect("digest");
    let meta = store
        .register_layer_tree(None, &tree, &tar_path, diff_id.clone(), bytes.len() as u64)
        .expect("register");
    assert_eq!(meta.diff_id, diff_id);
    let layer = store.layer_path(&meta.chain_id);
    assert_eq!(
        fs::read(layer.join("diff/app/file")).expect("moved"),
        b"content"
    );
    assert_eq!(fs::read(layer.join("layer.tar")).expect("tar kept"), bytes);
    assert!(!tree.exists(), "the tree was moved, not copied");
    let outside = tempfile::tempdir().expect("outside");
    let err = store
        .register_layer_tree(None, outside.path(), &tar_path, diff_id, 0)
        .expect_err("not staged here");
    assert!(
        err.to_string().contains("is not staged in this store"),
        "{err}"
    );
}

//! The metadata store's behaviour, one suite run against both backends: SQLite (a file
//! in a temp dir) and PostgreSQL (a fresh database per test on the server that
//! `SWORN_TEST_PG` names; `scripts/test` starts one, see `scripts/test-postgres`).
//! Without `SWORN_TEST_PG` the PostgreSQL half says so and passes.
#![cfg(feature = "server")]

use std::time::{Duration, Instant};
use sworn::domain::{
    CourtId, HearingId, HearingState, ParticipantId, ParticipantRole, StaffRole, UserId,
};
use sworn::store::{Database, NewHearing, RequestDetails, Store, StoreError};

/// A store on a fresh SQLite file (kept alive by the returned temp dir).
async fn sqlite() -> (Store, Option<tempfile::TempDir>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Database::DataDir, dir.path()).await.unwrap();
    (store, Some(dir))
}

#[path = "common/pg.rs"]
mod pg;
use pg::{fresh_pg_database, pg_admin_url, with_database};

async fn postgres() -> Option<(Store, Option<tempfile::TempDir>)> {
    let admin = pg_admin_url()?;
    let url = fresh_pg_database(&admin).await;
    let db = Database::parse(&url).unwrap();
    let unused = tempfile::tempdir().unwrap();
    Some((Store::open(&db, unused.path()).await.unwrap(), Some(unused)))
}

/// Each name is an `async fn(&Store)` below, run once per backend.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = super::sqlite().await;
                    super::$name(&store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some((store, _dir)) = super::postgres().await else { return };
                    super::$name(&store).await;
                }
            )*
        }
    };
}

both_backends!(
    default_court_exists_and_names_are_unique,
    accounts_sessions_and_passwords,
    disabling_ends_sessions_and_hides_the_account,
    setup_tokens_are_single_use_and_expire,
    hearings_belong_to_their_creators_court_and_move_forward,
    participants_and_invites,
    grants_expire_and_revoke,
    conflicts_and_missing_rows_are_named,
);

async fn judge(s: &Store, name: &str, court: &CourtId) -> UserId {
    let id = UserId::from_trusted(sworn::secrets::new_id());
    s.create_user(&id, name, StaffRole::Judge, "hash", court, 100)
        .await
        .unwrap();
    id
}

fn new_hearing(scheduled_at: &str) -> NewHearing {
    NewHearing {
        case_ref: "CASE-1".into(),
        mla_ref: "MLA-1".into(),
        requesting_state: "FR".into(),
        requested_state: "DE".into(),
        scheduled_at: scheduled_at.into(),
        language: "fr".into(),
        request: RequestDetails {
            requesting_authority: Some("Ministère".into()),
            requesting_reference: None,
            requested_authority: None,
            requested_reference: Some("R-7".into()),
            request_date: Some("2026-01-02".into()),
        },
        rehearsal: false,
    }
}

async fn hearing(s: &Store, by: &UserId, scheduled_at: &str) -> HearingId {
    let id = HearingId::from_trusted(sworn::secrets::new_id());
    s.create_hearing(&id, &new_hearing(scheduled_at), by, 200)
        .await
        .unwrap();
    id
}

async fn default_court_exists_and_names_are_unique(s: &Store) {
    let courts = s.list_courts().await.unwrap();
    assert_eq!(courts.len(), 1);
    assert_eq!(courts[0].id.as_str(), CourtId::DEFAULT);
    let (a, created) = s.ensure_court(" Tribunal de Paris ", 0).await.unwrap();
    assert!(created);
    assert_eq!(a.name, "Tribunal de Paris");
    let (again, created) = s.ensure_court("Tribunal de Paris", 0).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, a.id);
    assert!(matches!(
        s.rename_court("Tribunal de Paris", "Default court").await,
        Err(StoreError::Conflict)
    ));
    s.rename_court("Default court", "Tribunal de Lyon")
        .await
        .unwrap();
    assert!(s.court_by_name("Tribunal de Lyon").await.unwrap().is_some());
    assert_eq!(
        s.court(&a.id).await.unwrap().map(|c| c.name),
        Some("Tribunal de Paris".to_owned())
    );
    // Byte order, as SQLite sorts: upper case before lower case.
    s.ensure_court("aix", 0).await.unwrap();
    let names: Vec<_> = s
        .list_courts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["Tribunal de Lyon", "Tribunal de Paris", "aix"]);
    assert!(matches!(
        s.rename_court("nowhere", "x").await,
        Err(StoreError::NotFound)
    ));
}

async fn accounts_sessions_and_passwords(s: &Store) {
    let court = CourtId::default_court();
    assert_eq!(s.count_users().await.unwrap(), 0);
    let j = judge(s, "judge", &court).await;
    let _b = judge(s, "Bob", &court).await;
    assert_eq!(s.count_users().await.unwrap(), 2);
    let u = s.user_by_name("judge").await.unwrap().unwrap();
    assert_eq!(u.id, j);
    assert_eq!(u.role, StaffRole::Judge);
    assert_eq!(u.court_id, court);
    assert_eq!(s.user(&j).await.unwrap().unwrap().username, "judge");
    let names: Vec<_> = s
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["Bob", "judge"]);

    s.create_session("s1", &j, "csrf1", 1000).await.unwrap();
    s.create_session("s2", &j, "csrf2", 2000).await.unwrap();
    let session = s.session("s1", 999).await.unwrap().unwrap();
    assert_eq!(session.user.id, j);
    assert_eq!(session.csrf, "csrf1");
    assert_eq!(session.expires_at, 1000);
    assert!(s.session("s1", 1000).await.unwrap().is_none(), "expired");
    assert_eq!(s.purge_expired_sessions(1000).await.unwrap(), 1);
    s.create_session("s3", &j, "csrf3", 3000).await.unwrap();
    // Changing one's password ends every other session.
    assert_eq!(s.change_password(&j, "hash2", "s3").await.unwrap(), 1);
    assert!(s.session("s2", 0).await.unwrap().is_none());
    assert!(s.session("s3", 0).await.unwrap().is_some());
    assert_eq!(s.user(&j).await.unwrap().unwrap().password_hash, "hash2");
    // The CLI's password reset ends them all.
    s.set_password("judge", "hash3").await.unwrap();
    assert!(s.session("s3", 0).await.unwrap().is_none());
    s.create_session("s4", &j, "csrf4", 3000).await.unwrap();
    s.delete_session("s4").await.unwrap();
    assert!(s.session("s4", 0).await.unwrap().is_none());
    assert!(matches!(
        s.set_password("nobody", "h").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.change_password(&UserId::from_trusted("nobody".into()), "h", "")
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn disabling_ends_sessions_and_hides_the_account(s: &Store) {
    let j = judge(s, "judge", &CourtId::default_court()).await;
    s.create_session("s1", &j, "c", 1000).await.unwrap();
    assert_eq!(s.user_disabled("judge").await.unwrap(), Some(false));
    s.set_disabled("judge", true).await.unwrap();
    assert_eq!(s.user_disabled("judge").await.unwrap(), Some(true));
    assert!(s.user_by_name("judge").await.unwrap().is_none());
    assert!(s.session("s1", 0).await.unwrap().is_none());
    // A session made while disabled is refused too.
    s.create_session("s2", &j, "c", 1000).await.unwrap();
    assert!(s.session("s2", 0).await.unwrap().is_none());
    s.set_disabled("judge", false).await.unwrap();
    assert!(s.user_by_name("judge").await.unwrap().is_some());
    assert!(s.session("s2", 0).await.unwrap().is_some());
    assert_eq!(s.user_disabled("nobody").await.unwrap(), None);
    assert!(matches!(
        s.set_disabled("nobody", true).await,
        Err(StoreError::NotFound)
    ));
}

async fn setup_tokens_are_single_use_and_expire(s: &Store) {
    let (court, _) = s.ensure_court("Cour d'appel", 0).await.unwrap();
    s.create_setup_token("t1", StaffRole::Clerk, &court.id, 100)
        .await
        .unwrap();
    s.create_setup_token("t2", StaffRole::Judge, &court.id, 100)
        .await
        .unwrap();
    assert!(s.setup_token_valid("t1", 99).await.unwrap());
    assert!(!s.setup_token_valid("t1", 100).await.unwrap());
    assert!(s.consume_setup_token("t1", 100).await.unwrap().is_none());
    let grant = s.consume_setup_token("t2", 50).await.unwrap().unwrap();
    assert_eq!(grant.role, StaffRole::Judge);
    assert_eq!(grant.court_id, court.id);
    assert!(s.consume_setup_token("t2", 50).await.unwrap().is_none());
    assert!(!s.setup_token_valid("t2", 50).await.unwrap());
    assert!(!s.setup_token_valid("unknown", 0).await.unwrap());
}

async fn hearings_belong_to_their_creators_court_and_move_forward(s: &Store) {
    let (paris, _) = s.ensure_court("Paris", 0).await.unwrap();
    let j = judge(s, "judge", &paris.id).await;
    let early = hearing(s, &j, "2026-03-01T10:00").await;
    let late = hearing(s, &j, "2026-04-01T10:00").await;
    let h = s.hearing(&early).await.unwrap().unwrap();
    assert_eq!(h.court_id, paris.id);
    assert_eq!(h.created_by, j);
    assert_eq!(h.state, HearingState::Scheduled);
    assert_eq!(h.created_at, 200);
    assert_eq!(h.fields.request, new_hearing("").request);
    assert_eq!(h.fields.case_ref, "CASE-1");
    assert!(!h.fields.rehearsal);
    let ids: Vec<_> = s
        .list_court_hearings(&paris.id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ids, [late.clone(), early.clone()], "newest first");
    assert!(
        s.list_court_hearings(&CourtId::default_court())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.list_hearings().await.unwrap().len(), 2);
    // Only forward moves.
    assert!(
        !s.set_hearing_state(&early, HearingState::Closed, 300)
            .await
            .unwrap()
    );
    assert!(
        s.set_hearing_state(&early, HearingState::Open, 300)
            .await
            .unwrap()
    );
    assert!(
        !s.set_hearing_state(&early, HearingState::Open, 301)
            .await
            .unwrap()
    );
    assert!(
        s.set_hearing_state(&early, HearingState::Closed, 400)
            .await
            .unwrap()
    );
    assert!(
        !s.set_hearing_state(&early, HearingState::Scheduled, 500)
            .await
            .unwrap()
    );
    let h = s.hearing(&early).await.unwrap().unwrap();
    assert_eq!(
        (h.state, h.opened_at, h.closed_at),
        (HearingState::Closed, Some(300), Some(400))
    );
    // A rehearsal keeps its flag.
    let id = HearingId::from_trusted(sworn::secrets::new_id());
    let practice = NewHearing {
        rehearsal: true,
        ..new_hearing("2026-05-01T10:00")
    };
    s.create_hearing(&id, &practice, &j, 0).await.unwrap();
    assert!(s.hearing(&id).await.unwrap().unwrap().fields.rehearsal);
    // No such creator: refused.
    let nobody = UserId::from_trusted("nobody".into());
    assert!(matches!(
        s.create_hearing(&HearingId::from_trusted("x".into()), &practice, &nobody, 0)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        s.hearing(&HearingId::from_trusted("x".into()))
            .await
            .unwrap()
            .is_none()
    );
}

async fn participants_and_invites(s: &Store) {
    let j = judge(s, "judge", &CourtId::default_court()).await;
    let h = hearing(s, &j, "2026-03-01T10:00").await;
    let staff = ParticipantId::from_trusted("p-judge".into());
    let witness = ParticipantId::from_trusted("p-witness".into());
    s.create_participant(
        &staff,
        &h,
        "Judge",
        ParticipantRole::Judge,
        Some(&j),
        None,
        None,
        10,
    )
    .await
    .unwrap();
    s.create_participant(
        &witness,
        &h,
        "W",
        ParticipantRole::Witness,
        None,
        Some("tok1"),
        Some(500),
        11,
    )
    .await
    .unwrap();
    let all = s.participants(&h).await.unwrap();
    assert_eq!(
        all.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        [staff.clone(), witness.clone()]
    );
    assert!(!all[0].has_token && all[1].has_token);
    assert_eq!(
        s.participant_for_user(&h, &j).await.unwrap().unwrap().id,
        staff
    );
    let w = s.participant_by_token("tok1").await.unwrap().unwrap();
    assert_eq!(
        (w.id.clone(), w.role, w.token_expires_at),
        (witness.clone(), ParticipantRole::Witness, Some(500))
    );
    assert!(!w.revoked && !w.denied && w.device_key.is_none() && w.language.is_none());

    s.set_participant_language(&witness, Some("ar"))
        .await
        .unwrap();
    s.set_device_key(&witness, Some("key")).await.unwrap();
    s.set_denied(&witness, true).await.unwrap();
    s.set_display_name(&witness, "Witness A").await.unwrap();
    s.revoke_invite(&witness).await.unwrap();
    let w = s.participant(&witness).await.unwrap().unwrap();
    assert_eq!(w.language.as_deref(), Some("ar"));
    assert_eq!(w.device_key.as_deref(), Some("key"));
    assert_eq!(w.display_name, "Witness A");
    assert!(w.denied && w.revoked);
    // A new link starts fresh; the old one is gone.
    s.reissue_invite(&witness, "tok2", 900).await.unwrap();
    assert!(s.participant_by_token("tok1").await.unwrap().is_none());
    let w = s.participant_by_token("tok2").await.unwrap().unwrap();
    assert!(!w.denied && !w.revoked && w.device_key.is_none());
    assert_eq!(w.token_expires_at, Some(900));
    s.set_device_key(&witness, None).await.unwrap();

    let ghost = ParticipantId::from_trusted("ghost".into());
    assert!(matches!(
        s.revoke_invite(&ghost).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.reissue_invite(&ghost, "t", 1).await,
        Err(StoreError::NotFound)
    ));
    assert!(s.participant(&ghost).await.unwrap().is_none());
}

async fn grants_expire_and_revoke(s: &Store) {
    let court = CourtId::default_court();
    let j = judge(s, "judge", &court).await;
    let pros = UserId::from_trusted(sworn::secrets::new_id());
    s.create_user(&pros, "pros", StaffRole::Prosecutor, "h", &court, 0)
        .await
        .unwrap();
    let h = hearing(s, &j, "2026-03-01T10:00").await;
    s.create_grant("g1", &h, &pros, &j, 10, Some(100))
        .await
        .unwrap();
    s.create_grant("g2", &h, &pros, &j, 20, None).await.unwrap();
    let for_hearing = s.grants_for_hearing(&h).await.unwrap();
    assert_eq!(
        for_hearing
            .iter()
            .map(|g| g.id.as_str())
            .collect::<Vec<_>>(),
        ["g1", "g2"]
    );
    assert_eq!(for_hearing[0].username, "pros");
    assert_eq!(for_hearing[0].role, "prosecutor");
    assert_eq!(for_hearing[0].granted_by, j);
    let for_user = s.grants_for_user(&pros).await.unwrap();
    assert_eq!(
        for_user.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        ["g2", "g1"]
    );
    assert_eq!(
        s.active_grant(&h, &pros, 50).await.unwrap().unwrap().id,
        "g2"
    );
    s.revoke_grant(&h, "g2", 60).await.unwrap();
    assert!(matches!(
        s.revoke_grant(&h, "g2", 61).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.active_grant(&h, &pros, 70).await.unwrap().unwrap().id,
        "g1"
    );
    assert!(
        s.active_grant(&h, &pros, 100).await.unwrap().is_none(),
        "expired"
    );
    let g1 = &s.grants_for_hearing(&h).await.unwrap()[0];
    assert!(g1.active(99) && !g1.active(100));
    assert!(s.active_grant(&h, &j, 0).await.unwrap().is_none());
}

async fn conflicts_and_missing_rows_are_named(s: &Store) {
    let court = CourtId::default_court();
    let j = judge(s, "judge", &court).await;
    let again = UserId::from_trusted(sworn::secrets::new_id());
    assert!(matches!(
        s.create_user(&again, "judge", StaffRole::Clerk, "h", &court, 0)
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        s.create_user(
            &again,
            "clerk",
            StaffRole::Clerk,
            "h",
            &CourtId::from_trusted("none".into()),
            0
        )
        .await,
        Err(StoreError::NotFound)
    ));
    let h = hearing(s, &j, "2026-03-01T10:00").await;
    let p = ParticipantId::from_trusted("p".into());
    s.create_participant(
        &p,
        &h,
        "A",
        ParticipantRole::Witness,
        None,
        Some("tok"),
        Some(1),
        0,
    )
    .await
    .unwrap();
    // The same token twice, or a participant of no hearing.
    let q = ParticipantId::from_trusted("q".into());
    assert!(matches!(
        s.create_participant(
            &q,
            &h,
            "B",
            ParticipantRole::Witness,
            None,
            Some("tok"),
            Some(1),
            0
        )
        .await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        s.create_participant(
            &q,
            &HearingId::from_trusted("none".into()),
            "B",
            ParticipantRole::Witness,
            None,
            None,
            None,
            0
        )
        .await,
        Err(StoreError::Conflict)
    ));
}

/// Blocking SQLite work leaves the runtime: while another connection holds the write
/// lock (the store waits up to its 5 s busy timeout), a one-thread runtime still runs
/// its timers.
#[tokio::test(flavor = "current_thread")]
async fn sqlite_waits_off_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(&Database::DataDir, dir.path()).await.unwrap());
    let j = judge(&store, "judge", &CourtId::default_court()).await;
    let other = rusqlite::Connection::open(dir.path().join("sworn.sqlite3")).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { store.create_session("s", &j, "c", 10).await })
    };
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let slept = started.elapsed();
    assert!(!writer.is_finished(), "the write waits for the lock");
    other.execute_batch("COMMIT").unwrap();
    writer.await.unwrap().unwrap();
    assert!(
        slept < Duration::from_secs(2),
        "a 200 ms timer took {slept:?}: the store blocked the runtime"
    );
}

/// Existing data directories keep working: a database of every earlier SQLite schema
/// version opens and reaches the current one.
#[tokio::test]
async fn sqlite_databases_of_earlier_releases_upgrade() {
    for version in 0..=6 {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = rusqlite::Connection::open(dir.path().join("sworn.sqlite3")).unwrap();
            sworn::store::migrate_to(&conn, version).unwrap();
        }
        let s = Store::open(&Database::DataDir, dir.path()).await.unwrap();
        assert_eq!(
            s.list_courts().await.unwrap().len(),
            1,
            "from version {version}"
        );
        judge(&s, "judge", &CourtId::default_court()).await;
    }
}

/// Nodes that start together migrate once; a database a newer release migrated is
/// refused, not guessed at.
#[tokio::test]
async fn postgres_migrations_run_once_and_refuse_the_unknown() {
    let Some(admin) = pg_admin_url() else { return };
    let url = fresh_pg_database(&admin).await;
    let db = Database::parse(&url).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = tokio::join!(
        Store::open(&db, dir.path()),
        Store::open(&db, dir.path()),
        Store::open(&db, dir.path())
    );
    let (a, _b, _c) = (a.unwrap(), b.unwrap(), c.unwrap());
    assert_eq!(a.list_courts().await.unwrap().len(), 1, "one default court");
    assert_eq!(a.backend_name(), "postgresql");

    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let n: i64 = client
        .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        n, 3,
        "each migration recorded once (0001 initial, 0002 nodes, 0003 failover)"
    );
    client
        .execute(
            "INSERT INTO schema_migrations (version, name, sha256) VALUES (9999, 'future', '')",
            &[],
        )
        .await
        .unwrap();
    assert!(matches!(
        Store::open(&db, dir.path()).await,
        Err(StoreError::Migration { version: 9999, .. })
    ));
    client
        .execute("DELETE FROM schema_migrations WHERE version = 9999", &[])
        .await
        .unwrap();
    client
        .execute(
            "UPDATE schema_migrations SET sha256 = 'edited' WHERE version = 1",
            &[],
        )
        .await
        .unwrap();
    assert!(matches!(
        Store::open(&db, dir.path()).await,
        Err(StoreError::Migration { version: 1, .. })
    ));
}

#[test]
fn test_urls_name_a_fresh_database() {
    assert_eq!(
        with_database(
            "postgresql://sworn@localhost/postgres?host=/tmp/pg&port=5433",
            "t1"
        ),
        "postgresql://sworn@localhost/t1?host=/tmp/pg&port=5433"
    );
    assert_eq!(
        with_database("postgres://u@h:5432", "t2"),
        "postgres://u@h:5432/t2"
    );
}

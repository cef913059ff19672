//! The thin layer between the server and its two engines: SQLite (embedded, the default) and PostgreSQL
//! (several app servers on one database). One SQL text serves both where it can, with `$N` placeholders,
//! which both engines read by number.
//!
//! It mirrors the part of sqlx the server uses — `query`, `query_as`, `query_scalar`, `.bind(..)`,
//! `.execute` / `.fetch_one` / `.fetch_optional` / `.fetch_all` — over `&mut dyn Conn`, a connection of
//! either engine (a transaction or a pooled connection of either derefs to one), or a [`Pool`]. What a
//! query binds is one of the few value types both engines store the same way ([`Value`]), and what it
//! reads must decode on both ([`Row`], [`Scalar`]): a type only one engine reads (`u32` is SQLite's
//! alone) does not compile here, so it is not found at run time on the other.
//!
//! Not `sqlx::Any`: on SQLite it cannot decode booleans and it gives up WAL and `synchronous=FULL`.

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};

use futures_util::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{Connection, Decode, Executor, FromRow, Type};

/// Which engine a database runs on: for the few statements whose SQL differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The join that keeps the written order on SQLite, which plans a `CROSS JOIN`'s left side first
    /// (the pulls rely on it to search an index per key); PostgreSQL plans joins itself and has no
    /// `CROSS JOIN … ON`.
    pub fn join_in_order(self) -> &'static str {
        match self {
            Engine::Sqlite => "CROSS JOIN",
            Engine::Postgres => "JOIN",
        }
    }

    /// A row's own address, to find rows again within one statement: SQLite's `rowid`, PostgreSQL's `ctid`.
    pub fn row_address(self) -> &'static str {
        match self {
            Engine::Sqlite => "rowid",
            Engine::Postgres => "ctid",
        }
    }

    /// The elements of the JSON array bound at `param` (text), as a table `alias(value, key)` with `key`
    /// their order.
    pub fn json_array_rows(self, param: &str, alias: &str) -> String {
        match self {
            Engine::Sqlite => format!("json_each({param}) {alias}"),
            Engine::Postgres => format!(
                "json_array_elements_text({param}::json) WITH ORDINALITY AS {alias}(value, key)"
            ),
        }
    }

    /// `id` as twelve digits, zero-padded: text that sorts as the number does.
    pub fn padded(self, id: &str) -> String {
        match self {
            Engine::Sqlite => format!("printf('%012d', {id})"),
            Engine::Postgres => format!("lpad({id}::text, 12, '0')"),
        }
    }

    /// The values of `expr` in a group joined by commas.
    pub fn joined(self, expr: &str) -> String {
        match self {
            Engine::Sqlite => format!("group_concat({expr})"),
            Engine::Postgres => format!("string_agg({expr}::text, ',')"),
        }
    }

    /// Whether `needle` occurs in `haystack` (no pattern characters, unlike LIKE).
    pub fn contains(self, haystack: &str, needle: &str) -> String {
        match self {
            Engine::Sqlite => format!("instr({haystack}, {needle}) > 0"),
            Engine::Postgres => format!("strpos({haystack}, {needle}) > 0"),
        }
    }
}

/// A connection of either engine. Queries run on it through [`query`], [`query_as`] and [`query_scalar`].
pub trait Conn: Send {
    fn engine(&self) -> Engine;
    /// Runs a statement; how many rows it changed.
    fn run<'e>(&'e mut self, s: Statement<'e>) -> BoxFuture<'e, Result<u64, sqlx::Error>>;
    fn rows<'e>(
        &'e mut self,
        s: Statement<'e>,
    ) -> BoxFuture<'e, Result<Vec<EngineRow>, sqlx::Error>>;
    fn first<'e>(
        &'e mut self,
        s: Statement<'e>,
    ) -> BoxFuture<'e, Result<Option<EngineRow>, sqlx::Error>>;
    /// A transaction on this connection (a savepoint if one is open already).
    fn begin(&mut self) -> BoxFuture<'_, Result<Tx<'_>, sqlx::Error>>;
}

/// An engine's own connection: its statements made with its arguments (`$args`), its rows and
/// transactions wrapped in the engine's variant.
macro_rules! engine_conn {
    ($connection:ty, $engine:ident, $args:ident) => {
        impl Conn for $connection {
            fn engine(&self) -> Engine {
                Engine::$engine
            }
            fn run<'e>(&'e mut self, s: Statement<'e>) -> BoxFuture<'e, Result<u64, sqlx::Error>> {
                Box::pin(async move {
                    let args = s.$args();
                    Ok(self
                        .execute(sqlx::query_with(s.sql, args))
                        .await?
                        .rows_affected())
                })
            }
            fn rows<'e>(
                &'e mut self,
                s: Statement<'e>,
            ) -> BoxFuture<'e, Result<Vec<EngineRow>, sqlx::Error>> {
                Box::pin(async move {
                    let args = s.$args();
                    let rows = self.fetch_all(sqlx::query_with(s.sql, args)).await?;
                    Ok(rows.into_iter().map(EngineRow::$engine).collect())
                })
            }
            fn first<'e>(
                &'e mut self,
                s: Statement<'e>,
            ) -> BoxFuture<'e, Result<Option<EngineRow>, sqlx::Error>> {
                Box::pin(async move {
                    let args = s.$args();
                    let row = self.fetch_optional(sqlx::query_with(s.sql, args)).await?;
                    Ok(row.map(EngineRow::$engine))
                })
            }
            fn begin(&mut self) -> BoxFuture<'_, Result<Tx<'_>, sqlx::Error>> {
                Box::pin(async move { Ok(Tx::$engine(Connection::begin(self).await?)) })
            }
        }
    };
}
engine_conn!(SqliteConnection, Sqlite, sqlite);
engine_conn!(PgConnection, Postgres, postgres);

/// A transaction and a pooled connection are connections too (so `&mut tx` is a `&mut dyn Conn`).
macro_rules! delegate_conn {
    ($t:ty, $($variant:ident),*) => {
        impl Conn for $t {
            fn engine(&self) -> Engine {
                match self { $(Self::$variant(c) => (**c).engine()),* }
            }
            fn run<'e>(&'e mut self, s: Statement<'e>) -> BoxFuture<'e, Result<u64, sqlx::Error>> {
                match self { $(Self::$variant(c) => (**c).run(s)),* }
            }
            fn rows<'e>(
                &'e mut self,
                s: Statement<'e>,
            ) -> BoxFuture<'e, Result<Vec<EngineRow>, sqlx::Error>> {
                match self { $(Self::$variant(c) => (**c).rows(s)),* }
            }
            fn first<'e>(
                &'e mut self,
                s: Statement<'e>,
            ) -> BoxFuture<'e, Result<Option<EngineRow>, sqlx::Error>> {
                match self { $(Self::$variant(c) => (**c).first(s)),* }
            }
            fn begin(&mut self) -> BoxFuture<'_, Result<Tx<'_>, sqlx::Error>> {
                match self { $(Self::$variant(c) => Conn::begin(&mut **c)),* }
            }
        }
    };
}
delegate_conn!(Pooled, Sqlite, Postgres);
delegate_conn!(Tx<'_>, Sqlite, Postgres);

/// A row as either engine returned it, to read as a [`Row`] or a [`Scalar`].
pub enum EngineRow {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl EngineRow {
    fn read<T: Row>(&self) -> Result<T, sqlx::Error> {
        match self {
            EngineRow::Sqlite(r) => T::from_row(r),
            EngineRow::Postgres(r) => T::from_row(r),
        }
    }

    fn first_column<T: Scalar>(&self) -> Result<T, sqlx::Error> {
        use sqlx::Row as _;
        match self {
            EngineRow::Sqlite(r) => r.try_get(0),
            EngineRow::Postgres(r) => r.try_get(0),
        }
    }
}

/// A pool of connections to one engine.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub fn engine(&self) -> Engine {
        match self {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    /// A connection of the pool's, until dropped.
    pub async fn acquire(&self) -> Result<Pooled, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(pool) => Pooled::Sqlite(pool.acquire().await?),
            Pool::Postgres(pool) => Pooled::Postgres(pool.acquire().await?),
        })
    }

    /// Starts a transaction on a connection of the pool's.
    pub async fn begin(&self) -> Result<Tx<'static>, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// A read-only transaction that sees one snapshot of the database throughout (SQLite's read
    /// transaction does; PostgreSQL's needs REPEATABLE READ for it).
    pub async fn snapshot(&self) -> Result<Tx<'static>, sqlx::Error> {
        let mut tx = self.begin().await?;
        if self.engine() == Engine::Postgres {
            query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut tx)
                .await?;
        }
        Ok(tx)
    }

    pub async fn close(&self) {
        match self {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// A connection taken from a [`Pool`]; it goes back when dropped.
pub enum Pooled {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Deref for Pooled {
    type Target = dyn Conn;
    fn deref(&self) -> &(dyn Conn + 'static) {
        match self {
            Pooled::Sqlite(c) => &**c,
            Pooled::Postgres(c) => &**c,
        }
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut (dyn Conn + 'static) {
        match self {
            Pooled::Sqlite(c) => &mut **c,
            Pooled::Postgres(c) => &mut **c,
        }
    }
}

/// A transaction (or a savepoint within one); rolled back when dropped without [`Tx::commit`].
pub enum Tx<'c> {
    Sqlite(sqlx::Transaction<'c, Sqlite>),
    Postgres(sqlx::Transaction<'c, Postgres>),
}

impl Tx<'_> {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        }
    }
}

impl Deref for Tx<'_> {
    type Target = dyn Conn;
    fn deref(&self) -> &(dyn Conn + 'static) {
        match self {
            Tx::Sqlite(tx) => &**tx,
            Tx::Postgres(tx) => &**tx,
        }
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut (dyn Conn + 'static) {
        match self {
            Tx::Sqlite(tx) => &mut **tx,
            Tx::Postgres(tx) => &mut **tx,
        }
    }
}

/// Where a query runs: a connection, or any connection of a pool.
pub enum Target<'a> {
    Conn(&'a mut dyn Conn),
    Pool(&'a Pool),
}

impl<'a, C: Conn> From<&'a mut C> for Target<'a> {
    fn from(conn: &'a mut C) -> Self {
        Target::Conn(conn)
    }
}

impl<'a, 'b: 'a> From<&'a mut (dyn Conn + 'b)> for Target<'a> {
    fn from(conn: &'a mut (dyn Conn + 'b)) -> Self {
        Target::Conn(conn)
    }
}

impl<'a> From<&'a Pool> for Target<'a> {
    fn from(pool: &'a Pool) -> Self {
        Target::Pool(pool)
    }
}

impl Target<'_> {
    async fn run(self, s: Statement<'_>) -> Result<u64, sqlx::Error> {
        match self {
            Target::Conn(c) => c.run(s).await,
            Target::Pool(p) => p.acquire().await?.run(s).await,
        }
    }

    async fn rows(self, s: Statement<'_>) -> Result<Vec<EngineRow>, sqlx::Error> {
        match self {
            Target::Conn(c) => c.rows(s).await,
            Target::Pool(p) => p.acquire().await?.rows(s).await,
        }
    }

    async fn first(self, s: Statement<'_>) -> Result<Option<EngineRow>, sqlx::Error> {
        match self {
            Target::Conn(c) => c.first(s).await,
            Target::Pool(p) => p.acquire().await?.first(s).await,
        }
    }
}

/// A value bound to a placeholder: the types both engines store alike.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'q> {
    Int(Option<i64>),
    Bool(Option<bool>),
    Real(Option<f64>),
    Text(Option<Cow<'q, str>>),
}

/// What may be bound: integers (as 64 bits), booleans, reals, text, and `Option`s of them (NULL).
pub trait Bind<'q> {
    fn value(self) -> Value<'q>;
}

macro_rules! bind_int {
    ($($t:ty),*) => {$(
        impl<'q> Bind<'q> for $t {
            fn value(self) -> Value<'q> {
                Value::Int(Some(i64::from(self)))
            }
        }
        impl<'q> Bind<'q> for Option<$t> {
            fn value(self) -> Value<'q> {
                Value::Int(self.map(i64::from))
            }
        }
    )*};
}
bind_int!(i64, i32, u32, u16, u8);

impl<'q> Bind<'q> for &i64 {
    fn value(self) -> Value<'q> {
        Value::Int(Some(*self))
    }
}

impl<'q> Bind<'q> for bool {
    fn value(self) -> Value<'q> {
        Value::Bool(Some(self))
    }
}

impl<'q> Bind<'q> for Option<bool> {
    fn value(self) -> Value<'q> {
        Value::Bool(self)
    }
}

impl<'q> Bind<'q> for f64 {
    fn value(self) -> Value<'q> {
        Value::Real(Some(self))
    }
}

impl<'q> Bind<'q> for &'q str {
    fn value(self) -> Value<'q> {
        Value::Text(Some(Cow::Borrowed(self)))
    }
}

impl<'q> Bind<'q> for &'q String {
    fn value(self) -> Value<'q> {
        Value::Text(Some(Cow::Borrowed(self)))
    }
}

impl<'q> Bind<'q> for String {
    fn value(self) -> Value<'q> {
        Value::Text(Some(Cow::Owned(self)))
    }
}

impl<'q> Bind<'q> for Option<&'q str> {
    fn value(self) -> Value<'q> {
        Value::Text(self.map(Cow::Borrowed))
    }
}

impl<'q> Bind<'q> for Option<String> {
    fn value(self) -> Value<'q> {
        Value::Text(self.map(Cow::Owned))
    }
}

impl<'q> Bind<'q> for &'q Option<String> {
    fn value(self) -> Value<'q> {
        Value::Text(self.as_deref().map(Cow::Borrowed))
    }
}

/// A row both engines can read into `Self` (tuples and `#[derive(FromRow)]` structs of [`Scalar`]s).
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// A column value both engines can read into `Self`.
pub trait Scalar:
    for<'r> Decode<'r, Sqlite>
    + Type<Sqlite>
    + for<'r> Decode<'r, Postgres>
    + Type<Postgres>
    + Send
    + Unpin
{
}
impl<T> Scalar for T where
    T: for<'r> Decode<'r, Sqlite>
        + Type<Sqlite>
        + for<'r> Decode<'r, Postgres>
        + Type<Postgres>
        + Send
        + Unpin
{
}

/// The SQL of a query and what it binds, before it knows its engine.
#[derive(Clone, Debug)]
pub struct Statement<'q> {
    sql: &'q str,
    values: Vec<Value<'q>>,
}

impl<'q> Statement<'q> {
    fn new(sql: &'q str) -> Self {
        Statement {
            sql,
            values: Vec::new(),
        }
    }

    fn sqlite(&self) -> SqliteArguments<'q> {
        use sqlx::Arguments;
        let mut args = SqliteArguments::default();
        for value in &self.values {
            let added = match value.clone() {
                Value::Int(v) => args.add(v),
                Value::Bool(v) => args.add(v),
                Value::Real(v) => args.add(v),
                Value::Text(v) => args.add(v),
            };
            added.expect("SQLite encodes every value type");
        }
        args
    }

    fn postgres(&self) -> PgArguments {
        use sqlx::Arguments;
        let mut args = PgArguments::default();
        for value in &self.values {
            let added = match value.clone() {
                Value::Int(v) => args.add(v),
                Value::Bool(v) => args.add(v),
                Value::Real(v) => args.add(v),
                Value::Text(v) => args.add(v.map(Cow::into_owned)),
            };
            added.expect("PostgreSQL encodes every value type");
        }
        args
    }
}

/// A statement whose rows are not read: see [`query`].
#[must_use = "a query does nothing until it is executed"]
pub struct Query<'q>(Statement<'q>);

/// How a fetched row becomes a `T`: all of it ([`WholeRow`]) or its first column ([`FirstColumn`]).
pub trait Reading<T> {
    fn read(row: &EngineRow) -> Result<T, sqlx::Error>;
}

/// The row read as a [`Row`].
pub struct WholeRow;

/// The first column read as a [`Scalar`].
pub struct FirstColumn;

impl<T: Row> Reading<T> for WholeRow {
    fn read(row: &EngineRow) -> Result<T, sqlx::Error> {
        row.read()
    }
}

impl<T: Scalar> Reading<T> for FirstColumn {
    fn read(row: &EngineRow) -> Result<T, sqlx::Error> {
        row.first_column()
    }
}

/// A query whose rows are read as `T`, the way `R` says.
#[must_use = "a query does nothing until it is fetched"]
pub struct Fetch<'q, T, R>(Statement<'q>, std::marker::PhantomData<(T, R)>);

/// Rows read as `T`: see [`query_as`].
pub type QueryAs<'q, T> = Fetch<'q, T, WholeRow>;

/// The first column read as `T`: see [`query_scalar`].
pub type QueryScalar<'q, T> = Fetch<'q, T, FirstColumn>;

/// A statement to [`Query::execute`].
pub fn query(sql: &str) -> Query<'_> {
    Query(Statement::new(sql))
}

/// A query whose rows are read as `T`.
pub fn query_as<T: Row>(sql: &str) -> QueryAs<'_, T> {
    Fetch(Statement::new(sql), std::marker::PhantomData)
}

/// A query whose first column is read as `T`.
pub fn query_scalar<T: Scalar>(sql: &str) -> QueryScalar<'_, T> {
    Fetch(Statement::new(sql), std::marker::PhantomData)
}

impl<'q> Query<'q> {
    /// Binds the next placeholder.
    pub fn bind(mut self, value: impl Bind<'q>) -> Self {
        self.0.values.push(value.value());
        self
    }

    /// Runs the statement; answers how many rows it changed.
    pub async fn execute<'a>(self, target: impl Into<Target<'a>>) -> Result<u64, sqlx::Error> {
        target.into().run(self.0).await
    }
}

impl<'q, T, R: Reading<T>> Fetch<'q, T, R> {
    /// Binds the next placeholder.
    pub fn bind(mut self, value: impl Bind<'q>) -> Self {
        self.0.values.push(value.value());
        self
    }

    pub async fn fetch_one<'a>(self, target: impl Into<Target<'a>>) -> Result<T, sqlx::Error> {
        let row = target.into().first(self.0).await?;
        R::read(&row.ok_or(sqlx::Error::RowNotFound)?)
    }

    pub async fn fetch_optional<'a>(
        self,
        target: impl Into<Target<'a>>,
    ) -> Result<Option<T>, sqlx::Error> {
        let row = target.into().first(self.0).await?;
        row.as_ref().map(R::read).transpose()
    }

    pub async fn fetch_all<'a>(self, target: impl Into<Target<'a>>) -> Result<Vec<T>, sqlx::Error> {
        let rows = target.into().rows(self.0).await?;
        rows.iter().map(R::read).collect()
    }
}

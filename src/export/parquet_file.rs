//! One GeoParquet file: rows buffered column by column and written a row group at a time,
//! the geometry as WKB with the GeoParquet 1.1.0 `geo` metadata (bounding box and the types
//! present) added when the file is closed.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;

use parquet::basic::{
    Compression, LogicalType, Repetition, TimeUnit, TimestampType, Type as Physical,
};
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use super::table::{Cell, Column, Geometry, Kind, GEOMETRY_COLUMN};

/// Rows per row group: a few megabytes per open file for the widest table, so that a year's
/// monthly partitions, all open at once, stay within a few hundred megabytes.
pub const ROW_GROUP_ROWS: usize = 32_768;

/// One column's values of the row group being filled, with its definition levels (0 null,
/// 1 present) when it may be null.
enum Values {
    Int64(Vec<i64>),
    Int32(Vec<i32>),
    Float32(Vec<f32>),
    Float64(Vec<f64>),
    Bool(Vec<bool>),
    Bytes(Vec<ByteArray>),
}

struct Buffer {
    values: Values,
    levels: Vec<i16>,
    required: bool,
}

pub struct ParquetFile {
    writer: SerializedFileWriter<BufWriter<File>>,
    columns: &'static [Column],
    buffers: Vec<Buffer>,
    geometry: Vec<ByteArray>,
    geometry_levels: Vec<i16>,
    buffered: usize,
    rows: u64,
    bbox: Option<[f64; 4]>,
    types: BTreeSet<&'static str>,
    wkb: Vec<u8>,
}

fn schema(columns: &[Column]) -> Result<Type, ParquetError> {
    let mut fields = Vec::with_capacity(columns.len() + 1);
    for column in columns {
        let (physical, logical) = match column.kind {
            Kind::Int => (Physical::INT64, None),
            Kind::Float32 => (Physical::FLOAT, None),
            Kind::Float64 => (Physical::DOUBLE, None),
            Kind::Text => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
            Kind::Bool => (Physical::BOOLEAN, None),
            Kind::Time => (
                Physical::INT64,
                Some(LogicalType::Timestamp(TimestampType {
                    is_adjusted_to_u_t_c: true,
                    unit: TimeUnit::MILLIS,
                })),
            ),
            Kind::Date => (Physical::INT32, Some(LogicalType::Date)),
            Kind::Json => (Physical::BYTE_ARRAY, Some(LogicalType::Json)),
        };
        let repetition = if column.required {
            Repetition::REQUIRED
        } else {
            Repetition::OPTIONAL
        };
        let field = Type::primitive_type_builder(column.name, physical)
            .with_repetition(repetition)
            .with_logical_type(logical)
            .build()?;
        fields.push(Arc::new(field));
    }
    // Plain WKB bytes, as GeoParquet 1.1 asks; readers learn what they are from `geo`.
    let geometry = Type::primitive_type_builder(GEOMETRY_COLUMN, Physical::BYTE_ARRAY)
        .with_repetition(Repetition::OPTIONAL)
        .build()?;
    fields.push(Arc::new(geometry));
    Type::group_type_builder("schema")
        .with_fields(fields)
        .build()
}

impl ParquetFile {
    pub fn create(file: File, columns: &'static [Column]) -> Result<ParquetFile, ParquetError> {
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("aisgap {}", env!("CARGO_PKG_VERSION")))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let writer = SerializedFileWriter::new(
            BufWriter::new(file),
            Arc::new(schema(columns)?),
            Arc::new(properties),
        )?;
        let buffers = columns
            .iter()
            .map(|c| Buffer {
                values: match c.kind {
                    Kind::Int | Kind::Time => Values::Int64(Vec::new()),
                    Kind::Date => Values::Int32(Vec::new()),
                    Kind::Float32 => Values::Float32(Vec::new()),
                    Kind::Float64 => Values::Float64(Vec::new()),
                    Kind::Bool => Values::Bool(Vec::new()),
                    Kind::Text | Kind::Json => Values::Bytes(Vec::new()),
                },
                levels: Vec::new(),
                required: c.required,
            })
            .collect();
        Ok(ParquetFile {
            writer,
            columns,
            buffers,
            geometry: Vec::new(),
            geometry_levels: Vec::new(),
            buffered: 0,
            rows: 0,
            bbox: None,
            types: BTreeSet::new(),
            wkb: Vec::with_capacity(64),
        })
    }

    /// Adds one row; cells in the order of the file's columns.
    pub fn write(
        &mut self,
        cells: &[Cell],
        geometry: Option<&Geometry>,
    ) -> Result<(), ParquetError> {
        for ((buffer, cell), column) in self.buffers.iter_mut().zip(cells).zip(self.columns) {
            push(buffer, cell, column)?;
        }
        match geometry {
            Some(geometry) => {
                geometry.to_wkb(&mut self.wkb);
                self.geometry.push(ByteArray::from(self.wkb.clone()));
                self.geometry_levels.push(1);
                geometry.extend_bounds(&mut self.bbox);
                self.types.insert(geometry.type_name());
            }
            None => self.geometry_levels.push(0),
        }
        self.buffered += 1;
        self.rows += 1;
        if self.buffered >= ROW_GROUP_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ParquetError> {
        if self.buffered == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group()?;
        for buffer in &mut self.buffers {
            let mut column = group
                .next_column()?
                .ok_or_else(|| ParquetError::General("fewer columns than buffers".into()))?;
            let levels = (!buffer.required).then_some(buffer.levels.as_slice());
            match &mut buffer.values {
                Values::Int64(v) => column.typed::<Int64Type>().write_batch(v, levels, None)?,
                Values::Int32(v) => column.typed::<Int32Type>().write_batch(v, levels, None)?,
                Values::Float32(v) => column.typed::<FloatType>().write_batch(v, levels, None)?,
                Values::Float64(v) => column.typed::<DoubleType>().write_batch(v, levels, None)?,
                Values::Bool(v) => column.typed::<BoolType>().write_batch(v, levels, None)?,
                Values::Bytes(v) => column
                    .typed::<ByteArrayType>()
                    .write_batch(v, levels, None)?,
            };
            column.close()?;
            clear(buffer);
        }
        let mut column = group
            .next_column()?
            .ok_or_else(|| ParquetError::General("no geometry column".into()))?;
        column.typed::<ByteArrayType>().write_batch(
            &self.geometry,
            Some(&self.geometry_levels),
            None,
        )?;
        column.close()?;
        self.geometry.clear();
        self.geometry_levels.clear();
        group.close()?;
        self.buffered = 0;
        Ok(())
    }

    /// Writes what is buffered and the footer with the `geo` metadata; the number of rows.
    pub fn finish(mut self) -> Result<u64, ParquetError> {
        self.flush()?;
        let metadata = geo_metadata(self.bbox, &self.types);
        self.writer
            .append_key_value_metadata(KeyValue::new("geo".to_string(), metadata));
        self.writer.close()?;
        Ok(self.rows)
    }
}

fn clear(buffer: &mut Buffer) {
    buffer.levels.clear();
    match &mut buffer.values {
        Values::Int64(v) => v.clear(),
        Values::Int32(v) => v.clear(),
        Values::Float32(v) => v.clear(),
        Values::Float64(v) => v.clear(),
        Values::Bool(v) => v.clear(),
        Values::Bytes(v) => v.clear(),
    }
}

fn push(buffer: &mut Buffer, cell: &Cell, column: &Column) -> Result<(), ParquetError> {
    let mismatch = || {
        ParquetError::General(format!(
            "column {} ({:?}) given {cell:?}",
            column.name, column.kind
        ))
    };
    if matches!(cell, Cell::Null) {
        if buffer.required {
            return Err(ParquetError::General(format!(
                "column {} may not be null",
                column.name
            )));
        }
        buffer.levels.push(0);
        return Ok(());
    }
    match (&mut buffer.values, cell) {
        (Values::Int64(v), Cell::Int(i)) => v.push(*i),
        (Values::Int64(v), Cell::Time(t)) => v.push(t.as_millis()),
        (Values::Int32(v), Cell::Date(d)) => v.push(*d),
        (Values::Float32(v), Cell::Float32(f)) => v.push(*f),
        (Values::Float64(v), Cell::Float64(f)) => v.push(*f),
        (Values::Bool(v), Cell::Bool(b)) => v.push(*b),
        (Values::Bytes(v), Cell::Text(s) | Cell::Json(s)) => {
            v.push(ByteArray::from(s.as_bytes().to_vec()))
        }
        _ => return Err(mismatch()),
    }
    buffer.levels.push(1);
    Ok(())
}

/// GeoParquet 1.1.0 file metadata: WKB in the one geometry column, CRS left out (so OGC:CRS84,
/// longitude then latitude on WGS 84), planar edges.
pub fn geo_metadata(bbox: Option<[f64; 4]>, types: &BTreeSet<&'static str>) -> String {
    let mut column = serde_json::json!({
        "encoding": "WKB",
        "geometry_types": types.iter().collect::<Vec<_>>(),
    });
    if let (Some(bbox), Some(map)) = (bbox, column.as_object_mut()) {
        map.insert("bbox".into(), serde_json::json!(bbox));
    }
    serde_json::json!({
        "version": "1.1.0",
        "primary_column": GEOMETRY_COLUMN,
        "columns": { GEOMETRY_COLUMN: column },
    })
    .to_string()
}
